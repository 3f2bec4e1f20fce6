"""The licensed-data exchange, split along one seam: pure logic apart from I/O.

Pure (strings, numbers and domain values in, values out; no files, sockets or clock):

* ``pii/``: one detector module a PII type (finding, default action, normalisation, masking,
  samples) and the scanner over the shared C core;
* ``records``, ``pseudonymise``, ``report``, ``stats``, ``processing``, ``scan``: what ingest
  does to records;
* ``dedup``: MinHash signatures and the near-duplicate contract;
* ``licence``: accepting offers and the access rule (the nouns are in
  :mod:`aicenter.domain.licence`); ``contract``: an agreement as a contract document;
* ``royalty``: charge lines, statements, ledger transactions (one function reads a log file);
* ``tdm``, ``output_check``, ``synthetic``, ``evaluation``.

I/O: ``file_formats`` (the input files ingest and scan read), ``store`` (parts and manifests),
``dedup_index`` (the index of everything stored and its segment files), ``ingest`` (the
pipeline), ``meter`` (the meter log), ``reader`` (inside a job: the metered dataset reader,
``open_dataset``), ``gateway`` and ``gateway_client`` (the per-job data socket), ``croissant``
(metadata files). ``tests/exchange/test_layers.py`` keeps the pure modules free of I/O imports.

Flat modules rather than subpackages: the import paths jobs and callers already use
(``aicenter.exchange.reader.open_dataset``, ``aicenter.exchange.licence``) stay valid, and the
seam is enforced by the test instead of by folders.
"""
