"""The running server: process wiring (database, first operator, uvicorn workers), the
execution backend and the background loops, leader election between workers, and admission
batching. Above :mod:`aicenter.api` (which only builds the app) and :mod:`aicenter.services`
(which it runs); nothing below imports it. Empty on purpose: importing the package loads none
of its modules."""
