"""Whole rounds in a real browser (Debian's chromium), against a center whose scheduling loop
runs jobs on the local backend:

* an allocation round in Korean, nothing but the browser: the operator adds a pool, opens a
  call with its own price rule, creates an organisation, its admin and the admin's token; the
  admin applies; the operator reviews (the ranking's parts), awards; the admin submits a job
  from the form, watches its log fill, and reads the grant, the usage and the month's bill in
  KRW with the subsidy, every figure the one the center's own services compute;
* a licence cycle in Korean: a provider uploads a file, offers the dataset; a tenant accepts
  the offer and submits a job (pasted YAML) that reads the dataset; the provider sees the read
  on the data-usage page and the royalty on the statement;
* the tenant's pages in English: headings, dates and won in the English locale, and the same
  values in the Korean one;
* keyboard only: the skip link, signing in, the submit form and the new job, with the focus
  visible at every step.

axe-core checks every page seen (no serious or critical violation); no page loads anything
from another host and none breaks its Content-Security-Policy."""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from aicenter.domain.job import JobStatus
from aicenter.domain.org import OrgClass
from aicenter.domain.person import Role
from aicenter.domain.token import Scope
from aicenter.server.process import build_server
from aicenter.services import call as call_svc
from aicenter.services import dataset as dataset_svc
from aicenter.services import grant as grant_svc
from aicenter.services import job as job_svc
from aicenter.services import org as org_svc
from aicenter.services import pool as pool_svc
from aicenter.services import royalty as royalty_svc
from aicenter.services import usage as usage_svc
from aicenter.services.context import Caller
from aicenter.services.org import authenticate
from aicenter.settings import Settings
from aicenter.web.i18n import format_krw, format_number, format_when
from tests.support.live_server import LiveServer
from tests.web.conftest import LiveCenter, assert_accessible, sign_in

pytestmark = pytest.mark.xdist_group("browser")  # one browser per host, as test_browser.py

JOB_TIMEOUT_MS = 60_000
SHARED_CHIP = "amd-mi300x"  # the pool the fixture adds; the Korean round adds an H100 one


@pytest.fixture(scope="module")
def web_center(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCenter]:
    """A center as ``aicenter serve`` builds it, with its scheduling loop (jobs really run on
    the local backend, uploads are ingested) and a pool of AMD accelerators."""
    home = tmp_path_factory.mktemp("flows") / "home"
    built = build_server(Settings(home=home, scheduler_interval_s=0.25,
                                  metering_interval_s=0.5, preemption_grace_s=1.0))
    assert built.operator_token
    operator = authenticate(built.ctx, built.operator_token)
    pool_svc.add_pool(built.ctx, operator, SHARED_CHIP, 8)
    try:
        with LiveServer(built.app) as live:
            yield LiveCenter(built, live.url, built.operator_token)
    finally:
        built.ctx.db.dispose()


# -- helpers ------------------------------------------------------------------------------------

def won(text: str) -> Decimal:
    """₩12,345 → 12345."""
    found = re.search(r"₩\s?([\d,]+)", text)
    assert found, f"no amount in won in {text!r}"
    return Decimal(found.group(1).replace(",", ""))


def switch_to(page: Any, token: str) -> None:
    """Sign out (the layout's button) and sign in again with another token."""
    page.click("form.who button[type=submit]")
    page.wait_for_url("**/login")
    sign_in(page, token)


PAGE_ID = re.compile(r"/[a-z]+_[0-9a-f]{8,}")


def checked(page: Any) -> None:
    """The checks every step ends with: axe-core finds no serious violation (once a page
    for each person: a job's page or a call's is checked the first time it is seen), the
    CSP holds."""
    who = page.evaluate("() => document.querySelector('.who span')?.innerText")
    kind = (PAGE_ID.sub("/ID", urlsplit(page.url).path), who)
    seen: set[tuple[str, str | None]] = page.__dict__.setdefault("axe_checked", set())
    if kind not in seen:
        seen.add(kind)
        assert_accessible(page)
    assert not page.csp_errors, page.csp_errors


def follow(page: Any, target: Any) -> None:
    """Click a link or a form's button (a selector or a locator) and wait for the page it
    leads to."""
    with page.expect_navigation():
        (page.locator(target) if isinstance(target, str) else target).click()


def act(page: Any, target: Any) -> str:
    """Submit a form by its button; the notice of the page it leads to."""
    follow(page, target)
    return notice(page)


def notice(page: Any) -> str:
    """The outcome of the last action: what was done (a refusal fails, with its message)."""
    page.wait_for_selector("p[role=status].done, p[role=alert].error")
    refused = page.locator("p.error[role=alert]")
    assert refused.count() == 0, refused.inner_text()
    return str(page.locator("p.done[role=status]").inner_text())


def wait_until_finished(page: Any, center: LiveCenter, job_id: str, marker: str | None
                        ) -> None:
    """On the job's page: the log (htmx, every 2 s) shows ``marker``; then the page, reloaded
    once the center records the end, shows the final state."""
    if marker is not None:
        page.wait_for_function(
            "(m) => document.querySelector('#log pre').innerText.includes(m)",
            arg=marker, timeout=JOB_TIMEOUT_MS)
    operator = authenticate(center.server.ctx, center.operator_token)
    deadline = time.monotonic() + JOB_TIMEOUT_MS / 1000
    while not job_svc.get_job(center.server.ctx, operator, job_id).status.finished:
        assert time.monotonic() < deadline, f"job {job_id} has not ended"
        time.sleep(0.2)
    page.reload()


@dataclass
class Tenant:
    caller: Caller
    token: str
    org_id: str
    grant_id: str


def tenant_with_grant(center: LiveCenter, name: str, org_class: OrgClass,
                      budget: str = "50") -> Tenant:
    """An organisation with a member, its token and a grant on the shared AMD pool, set up
    through the services (the browser round does this by hand; these tests need only the
    result)."""
    ctx = center.server.ctx
    operator = authenticate(ctx, center.operator_token)
    call = call_svc.open_call(ctx, operator, call_svc.CallRequest(
        f"{name} 공모", frozenset({org_class}), {SHARED_CHIP: 8}))
    org = org_svc.create_org(ctx, operator, name, org_class)
    person = org_svc.add_person(ctx, operator, org.id, f"{name} 연구원",
                                f"r{org.id[-6:]}@lab.kr", Role.MEMBER)
    token = org_svc.create_token(ctx, operator, person.id, "web",
                                 frozenset({Scope.READ, Scope.WRITE}), None)[1]
    app = call_svc.apply(ctx, Caller(person), call.id, org.id, "연구", {SHARED_CHIP: 2}, 6,
                         Decimal(budget))
    call_svc.review(ctx, operator, app.id, 7, 7, 7)
    grant = grant_svc.award(ctx, operator, app.id, Decimal(budget))
    return Tenant(Caller(person), token, org.id, grant.grant.id)


# -- 1. an allocation round in Korean ------------------------------------------------------------

def test_an_allocation_round_in_korean(page: Any, web_center: LiveCenter) -> None:
    ctx = web_center.server.ctx
    operator = authenticate(ctx, web_center.operator_token)
    sign_in(page, web_center.operator_token)
    assert page.locator("h1").inner_text() == "개요"
    checked(page)

    # the operator adds the pool of H100s the round's job will run on
    follow(page, "nav >> text=풀")
    page.select_option("form[action='/pools'] select[name=chip_id]", "nvidia-h100-sxm")
    page.fill("form[action='/pools'] input[name=chip_count]", "8")
    assert act(page, "form[action='/pools'] button[type=submit]") == "풀이 추가되었습니다."
    h100 = page.locator("tr", has_text="nvidia-h100-sxm").first
    assert "8" in h100.inner_text()
    checked(page)

    # opens a call: startups only, 2 H100s a project, a market price that makes seconds cost
    # won, and startups paying a fifth of it
    follow(page, "nav >> text=공모")
    assert page.locator("h1").inner_text() == "배분 공모"
    form = page.locator("form[action='/calls']")
    form.locator("input[name=name]").fill("2026 AI 컴퓨팅 지원 공모")
    form.locator("input[name=eligible][value=startup]").check()
    form.locator("textarea[name=max_chips_per_project]").fill("nvidia-h100-sxm=2")
    form.locator("input[name=market_price_krw_per_h100e_h]").fill("36000000")
    form.locator("input[name=fraction_startup]").fill("0.2")
    checked(page)
    assert act(page, form.locator("button[type=submit]")) == "공모가 시작되었습니다."
    assert "2026 AI 컴퓨팅 지원 공모" in page.locator("h1").inner_text()
    assert page.locator("h1 .status").inner_text() == "진행 중"
    startup = page.locator("tr:has(td:text-is('startup'))").locator("td")
    # pays 0.2 of 36,000,000 per H100e-hour, the programme the rest
    assert [startup.nth(i).inner_text() for i in (1, 2, 3)] == ["0.2", "7,200,000",
                                                                  "28,800,000"]
    call_id = page.url.split("/calls/")[1].split("?")[0]
    checked(page)

    # creates the organisation, its admin and the admin's token
    follow(page, "nav >> text=기관")
    form = page.locator("form[action='/orgs']")
    form.locator("input[name=name]").fill("새봄로보틱스")
    form.locator("select[name=org_class]").select_option("startup")
    form.locator("input[name=region]").fill("busan")
    checked(page)
    assert act(page, form.locator("button[type=submit]")) == "기관이 생성되었습니다."
    org_id = page.url.split("/orgs/")[1].split("?")[0]
    form = page.locator(f"form[action='/orgs/{org_id}/people']")
    form.locator("input[name=name]").fill("김하늘")
    form.locator("input[name=email]").fill("haneul@saebom.kr")
    form.locator("select[name=role]").select_option("org-admin")
    assert act(page, form.locator("button[type=submit]")) == "사용자가 추가되었습니다."
    person = page.locator("tr", has_text="김하늘")
    assert "org-admin" in person.inner_text()
    checked(page)
    follow(page, person.locator("a[href$='/tokens']"))
    assert page.locator("h1").inner_text() == "API 토큰"
    page.fill("form[action$='/tokens'] input[name=name]", "웹")
    page.check("form[action$='/tokens'] input[name=scopes][value=write]")
    follow(page, "form[action$='/tokens'] button[type=submit]")
    secret = page.locator(".secret pre code").inner_text().strip()
    assert "(이번 한 번만 표시되며 해시만 보관됩니다)" in page.locator(".secret").inner_text()
    assert page.locator("tbody tr", has_text="read, write").count() == 1
    checked(page)

    # the admin applies
    switch_to(page, secret)
    assert page.locator("header .who span").inner_text().startswith("김하늘")
    follow(page, "nav >> text=공모")
    follow(page, "text=2026 AI 컴퓨팅 지원 공모")
    form = page.locator(f"form[action='/calls/{call_id}/apply']")
    form.locator("input[name=title]").fill("한국어 음성 비서 미세조정")
    form.locator("textarea[name=chips]").fill("nvidia-h100-sxm=2")
    form.locator("input[name=months]").fill("6")
    form.locator("input[name=requested_h100e_h]").fill("100")
    form.locator("textarea[name=plan]").fill("공개 음성 말뭉치로 13B 모델 미세조정")
    checked(page)
    assert act(page, form.locator("button[type=submit]")) == "신청서가 제출되었습니다."
    assert page.locator("h1 .status").inner_text() == "제출됨"
    application_id = page.url.split("/applications/")[1].split("?")[0]
    assert "nvidia-h100-sxm × 2" in page.locator("dl").inner_text()
    checked(page)

    # the operator reviews, reads the ranking's parts, awards half of what was asked
    switch_to(page, web_center.operator_token)
    follow(page, "nav >> text=공모")
    follow(page, "text=2026 AI 컴퓨팅 지원 공모")
    row = page.locator("tr", has_text="한국어 음성 비서 미세조정")
    assert row.locator("td").nth(2).inner_text() == "새봄로보틱스"
    assert row.locator("td").nth(4).inner_text() == "0"  # no review yet
    follow(page, row.locator("a"))
    page.fill("input[name=impact]", "8")
    page.fill("input[name=readiness]", "7")
    page.fill("input[name=ecosystem]", "9")
    checked(page)
    assert act(page, "form[action$='/review'] button[type=submit]") == "심사가 저장되었습니다."
    ranked = next(r for r in call_svc.ranking(ctx, operator, call_id)
                  if r.application.id == application_id)
    score = page.locator("table.narrow")
    assert score.locator("tr", has_text="평균").locator("td").inner_text() == "8.00"
    assert "+1.00" in score.inner_text()  # Busan is outside the capital region
    assert score.locator("strong").inner_text() == f"{ranked.score:.2f}"
    page.fill("form[action$='/award'] input[name=budget_h100e_h]", "50")
    assert act(page, "form[action$='/award'] button[type=submit]") == "배분이 확정되었습니다."
    grant_id = page.url.split("/grants/")[1].split("?")[0]
    figures = page.locator("p.figures strong").all_inner_texts()
    assert figures == ["50.00", "0.00", "0.00", "50.00"]  # budget, used, held, available
    checked(page)
    follow(page, f"dd a[href='/applications/{application_id}']")
    assert page.locator("h1 .status").inner_text() == "배분됨"

    # the admin submits a job from the form and watches it run
    switch_to(page, secret)
    follow(page, "nav >> text=배분")
    assert page.locator("h1").inner_text() == "우리 기관의 배분"
    assert page.locator("tbody tr", has_text=grant_id).locator("td.num").last.inner_text() \
        == "50.00"
    follow(page, "nav >> text=작업 제출")
    page.select_option("select[name=grant_id]", grant_id)
    page.fill("input[name=name]", "asr-finetune-trial")
    page.fill("input[name=command]", "echo '학습 시작'; sleep 2; echo '학습 완료'")
    page.select_option("select[name=chip]", "nvidia-h100-sxm")
    page.fill("input[name=count]", "2")
    page.fill("input[name=max_duration]", "10m")
    checked(page)
    assert act(page, "form[action='/submit'] button[type=submit]") == "작업이 제출되었습니다."
    job_id = page.url.split("/jobs/")[1].split("?")[0]
    assert page.locator("h1 .status").inner_text() in ("대기", "실행 중")
    assert page.locator("pre").first.inner_text() == "echo '학습 시작'; sleep 2; echo '학습 완료'"
    checked(page)
    wait_until_finished(page, web_center, job_id, "학습 완료")
    assert page.locator("h1 .status").inner_text() == "성공"
    log = page.locator("#log pre").inner_text()
    assert log.index("학습 시작") < log.index("학습 완료")
    assert page.locator("#log[hx-get]").count() == 0  # ended: the log no longer refreshes
    details = page.locator("dl").inner_text()
    assert "2 × nvidia-h100-sxm" in details and grant_id in details
    checked(page)

    # usage, the grant's history and the bill: the center's own figures
    month = ctx.clock.now().astimezone(UTC).strftime("%Y-%m")
    follow(page, "nav >> text=사용량")
    assert page.locator("h1").inner_text() == f"우리 기관의 {month} 사용량"
    used = sum(usage_svc.daily_usage(ctx, operator, month, org_id).values(), Decimal(0))
    assert used > 0
    assert page.locator("tfoot th.num").inner_text() == f"{used:.6f}"
    checked(page)
    page.goto(f"/grants/{grant_id}")
    view = grant_svc.get_grant(ctx, operator, grant_id)
    assert page.locator("p.figures strong").all_inner_texts() == [
        "50.00", format_number(view.used_h100e_h, "ko", 2), "0.00",
        format_number(view.available_h100e_h, "ko", 2)]
    assert page.locator("tbody tr", has_text=job_id).count() == 1
    checked(page)
    follow(page, "nav >> text=청구서")
    assert page.locator("h1").inner_text() == f"{month} 청구서 · 새봄로보틱스"
    statement = usage_svc.statement(ctx, operator, org_id, month)
    line = statement.lines[0]
    cells = page.locator("tbody tr", has_text="nvidia-h100-sxm").locator("td").all_inner_texts()
    assert cells[3:] == [format_krw(line.market, "ko"), format_krw(line.payable, "ko"),
                         format_krw(line.subsidy, "ko")]
    market, payable, subsidy = (won(c) for c in cells[3:])
    assert market > 1000 and abs(payable + subsidy - market) <= 1
    assert abs(payable - market / 5) <= 1  # the call's price rule: a startup pays a fifth
    total = page.locator("tfoot th.num").all_inner_texts()
    assert total == [format_krw(statement.total_payable, "ko"),
                     format_krw(statement.total_subsidy, "ko")]
    checked(page)
    assert not web_center.outside_requests, web_center.outside_requests


# -- 2. a licence cycle ---------------------------------------------------------------------------

ARTICLES = [f"[한빛일보 {i}] 지역 소식 {i}: " + "가나다라마바사아자차카타파하"[i:] * 3
            for i in range(6)]


def test_a_licence_cycle_in_korean(page: Any, web_center: LiveCenter, tmp_path: Path) -> None:
    ctx = web_center.server.ctx
    operator = authenticate(ctx, web_center.operator_token)
    news = org_svc.create_org(ctx, operator, "한빛일보", OrgClass.ENTERPRISE)
    desk = org_svc.add_person(ctx, operator, news.id, "박지아", "jia@hanbit.kr",
                              Role.DATA_PROVIDER)
    provider_token = org_svc.create_token(ctx, operator, desk.id, "web",
                                          frozenset({Scope.READ, Scope.WRITE}), None)[1]
    tenant = tenant_with_grant(web_center, "누리랩", OrgClass.UNIVERSITY)
    source = tmp_path / "hanbit.jsonl"
    source.write_text("".join(json.dumps({"text": a}, ensure_ascii=False) + "\n"
                              for a in ARTICLES), encoding="utf-8")

    # the provider uploads the file and follows its scan
    sign_in(page, provider_token)
    follow(page, "nav >> text=업로드")
    page.set_input_files("#upload-form input[name=file]", str(source))
    page.fill("#upload-form input[name=name]", "hanbit-news")
    page.fill("#upload-form input[name=licence]", "한빛일보 AI 학습 이용 약관")
    checked(page)
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/uploads/upl_*")
    page.wait_for_selector("#pii-report", timeout=JOB_TIMEOUT_MS)  # ingested by the loop
    assert page.locator("#upload .status").inner_text() == "성공"
    checked(page)

    # offers it: pre-training, a year, 1,000,000 KRW per million tokens (1 KRW a token)
    follow(page, "#upload a[href^='/datasets/']")
    assert page.locator("h1").inner_text().startswith("hanbit-news")
    form = page.locator("form[action$='/offers']")
    form.locator("input[name=purposes][value=pre-training]").check()
    today = ctx.clock.now().date()
    form.locator("input[name=term_end]").fill(str(today + timedelta(days=365)))
    form.locator("select[name=price_basis]").select_option("per-million-tokens")
    form.locator("input[name=price_amount]").fill("1000000")
    form.locator("input[name=attribution]").fill("한빛일보")
    checked(page)
    assert act(page, form.locator("button[type=submit]")) == "제안이 게시되었습니다."
    offer_row = page.locator("section, table").locator("tr", has_text="pre-training").first
    assert "₩1,000,000 per-million-tokens" in offer_row.inner_text()
    offer_id = offer_row.locator("a").first.inner_text()
    checked(page)

    # the tenant accepts the offer and runs a job that reads the dataset
    switch_to(page, tenant.token)
    follow(page, "nav >> text=제안")
    assert page.locator("h1").inner_text() == "데이터 이용 제안"
    row = page.locator(f"tr[id='{offer_id}']")
    assert "한빛일보" in row.inner_text()
    checked(page)
    row.locator("select[name=purpose]").select_option("pre-training")
    assert act(page, row.locator("button[type=submit]")) == "계약이 체결되었습니다."
    agreement_id = page.url.split("/agreements/")[1].split("?")[0]
    checked(page)
    follow(page, "nav >> text=계약")
    assert page.locator("tr", has_text=agreement_id).locator("td").last.inner_text() == "유효"
    reader = ("from aicenter.exchange.reader import open_dataset; "
              "print('읽은 기사', sum(1 for _ in open_dataset('hanbit-news')))")
    command = shlex.join([sys.executable, "-c", reader])
    follow(page, "nav >> text=작업 제출")
    page.fill("textarea[name=yaml]", (
        "name: news-pretrain\n"
        f"command: {json.dumps(command, ensure_ascii=False)}\n"
        f"resources: [{{chip: {SHARED_CHIP}, count: 1}}]\n"
        "datasets: [hanbit-news]\npurpose: pre-training\nmax_duration: 5m\n"))
    # a job reading licensed data shows its log only once it has ended and been checked
    # (while it runs, its page is a 409 for now: pages._log_values does not catch it)
    follow(page, "form[action='/submit'] button[type=submit]")
    job_id = urlsplit(page.url).path.split("/jobs/")[1]
    wait_until_finished(page, web_center, job_id, None)
    assert page.locator("h1 .status").inner_text() == "성공", page.locator("#log").inner_text()
    records = dataset_svc.get_dataset(ctx, operator, "hanbit-news").stats["records"]
    assert f"읽은 기사 {records}" in page.locator("#log pre").inner_text()
    checked(page)

    # the provider sees the read and the royalty
    switch_to(page, provider_token)
    follow(page, "nav >> text=데이터 사용")
    assert page.locator("h1").inner_text() == "데이터 사용 내역"
    reads = [r for r in dataset_svc.usage(ctx, operator) if r.job_id == job_id]
    assert len(reads) == 1 and reads[0].usage.records == records
    tokens = reads[0].usage.tokens
    per_dataset = page.locator("tr", has_text="hanbit-news").first.locator("td")
    assert per_dataset.nth(2).inner_text() == format_number(records, "ko")
    assert per_dataset.nth(4).inner_text() == format_number(tokens, "ko")
    who_read = page.locator("tr", has_text=agreement_id).locator("td").all_inner_texts()
    assert who_read[1] == "누리랩" and who_read[3] == "pre-training"
    assert who_read[4] == "₩1,000,000 per-million-tokens" and who_read[5] == job_id
    checked(page)
    follow(page, "nav >> text=정산")
    month = ctx.clock.now().astimezone(UTC).strftime("%Y-%m")
    assert page.locator("h1").inner_text() == f"정산서 {month}"
    assert page.locator("p.done").inner_text() == \
        "감사 로그로 다시 계산한 결과가 원장과 일치합니다."
    line = page.locator("tr", has_text=agreement_id).locator("td").all_inner_texts()
    ledger = royalty_svc.statement(ctx, operator, news.id, month).ledger
    expected = next(x for x in ledger.lines if x.agreement_id == agreement_id)
    assert line[1] == "hanbit-news" and line[5] == f"{tokens:,}"
    assert line[6] == f"{tokens:,}"  # gross: one won a token
    assert line[6:] == [f"{expected.gross_krw:,}", f"{expected.fee_krw:,}",
                        f"{expected.net_krw:,}"]
    checked(page)
    assert not web_center.outside_requests, web_center.outside_requests


# -- 3. the same pages in English ----------------------------------------------------------------

def test_a_tenant_works_in_english(page: Any, web_center: LiveCenter) -> None:
    ctx = web_center.server.ctx
    tenant = tenant_with_grant(web_center, "Seoul Speech Lab", OrgClass.SME)
    page.goto("/login")
    follow(page, "nav.lang >> text=English")
    assert page.locator("h1").inner_text() == "Sign in"
    sign_in(page, tenant.token)
    assert page.locator("h1").inner_text() == "Overview"
    assert page.locator("html").get_attribute("lang") == "en"
    checked(page)
    follow(page, "nav >> text=Submit a job")
    assert page.locator("h1").inner_text() == "Submit a job"
    page.fill("input[name=name]", "asr-eval")
    page.fill("input[name=command]", "echo evaluating; sleep 1; echo finished")
    page.select_option("select[name=chip]", SHARED_CHIP)
    checked(page)
    assert act(page, "form[action='/submit'] button[type=submit]") == "The job is submitted."
    job_id = page.url.split("/jobs/")[1].split("?")[0]
    wait_until_finished(page, web_center, job_id, "finished")
    assert page.locator("h1 .status").inner_text() == "succeeded"
    assert page.locator("h2").all_inner_texts()[:2] == ["Command", "Log"]
    job = job_svc.get_job(ctx, tenant.caller, job_id)
    submitted = page.locator("dt:has-text('Submitted') + dd").inner_text()
    # English: the medium date and time, in UTC
    assert submitted == format_when(job.submitted_at, "en")
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2}\s?[AP]M", submitted)
    checked(page)

    follow(page, "nav >> text=Grants")
    assert page.locator("h1").inner_text() == "Grants of your organisation"
    period = page.locator("tbody tr", has_text=tenant.grant_id).locator("td").nth(3)
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4} – [A-Z][a-z]{2} \d{1,2}, \d{4}",
                        period.inner_text())
    checked(page)
    month = ctx.clock.now().astimezone(UTC).strftime("%Y-%m")
    follow(page, "nav >> text=Bill")
    assert page.locator("h1").inner_text() == f"Bill for {month} · Seoul Speech Lab"
    assert page.locator("thead th").all_inner_texts()[3:] == ["Market value", "You pay",
                                                               "Subsidy"]
    statement = usage_svc.statement(ctx, tenant.caller, tenant.org_id, month)
    totals = page.locator("tfoot th.num").all_inner_texts()
    assert totals == [format_krw(statement.total_payable, "en"),
                      format_krw(statement.total_subsidy, "en")]
    assert all(t.startswith("₩") for t in totals)
    checked(page)

    # the same job in Korean: the date in Korean order, in Seoul time
    follow(page, "nav.lang >> text=한국어")
    follow(page, "nav a[href='/jobs']")
    follow(page, f"a[href='/jobs/{job_id}']")
    assert page.locator("h1 .status").inner_text() == "성공"
    korean = page.locator("dt:has-text('제출') + dd").first.inner_text()
    assert korean == format_when(job.submitted_at, "ko")
    assert re.match(r"\d{4}\. \d{1,2}\. \d{1,2}\. (오전|오후) ", korean)
    assert not page.csp_errors, page.csp_errors
    assert not web_center.outside_requests, web_center.outside_requests


# -- 4. keyboard only ------------------------------------------------------------------------------

FOCUSED = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {tag: el.tagName.toLowerCase(), text: (el.innerText || '').trim(),
            name: el.getAttribute('name'), href: el.getAttribute('href'),
            inMain: !!el.closest('main'), visible: el.matches(':focus-visible'),
            outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def focused(page: Any) -> dict[str, Any]:
    """What has the focus, and whether it shows (a visible outline of 2 px or more)."""
    seen: dict[str, Any] = page.evaluate(FOCUSED)
    assert seen["visible"] and seen["outline"] != "none" and seen["width"] >= 2, seen
    return seen


def tab_to(page: Any, wanted: dict[str, Any], limit: int = 60, key: str = "Tab"
           ) -> dict[str, Any]:
    """Press Tab (or ``key``) until the focused element has every value of ``wanted``."""
    for _ in range(limit):
        page.keyboard.press(key)
        seen = focused(page)
        if all(seen.get(k) == v for k, v in wanted.items()):
            return seen
    raise AssertionError(f"{wanted} not reached in {limit} tabs")


def test_the_main_flow_by_keyboard_alone(page: Any, web_center: LiveCenter) -> None:
    tenant = tenant_with_grant(web_center, "키보드연구소", OrgClass.RESEARCH_INSTITUTE)
    page.goto("/login")
    page.keyboard.type(tenant.token)  # the token field has the focus (autofocus)
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "개요"

    # the first Tab reaches the skip link, shown once focused
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip["text"] == "본문으로 건너뛰기" and skip["href"] == "#main"
    box = page.locator("a.skip").bounding_box()
    assert box and box["y"] >= 0 and box["x"] >= 0 and box["width"] > 20  # on screen

    # the menu to the submit form
    tab_to(page, {"tag": "a", "href": "/submit"})
    page.keyboard.press("Enter")
    page.wait_for_url("**/submit")
    assert page.locator("h1").inner_text() == "작업 제출"
    checked(page)

    # the skip link passes the menu: the next Tab is in the form
    page.keyboard.press("Tab")
    assert focused(page)["href"] == "#main"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    assert tab_to(page, {"name": "grant_id"}, limit=1)["inMain"]
    tab_to(page, {"name": "name"}, limit=1)
    page.keyboard.type("keyboard-job")
    tab_to(page, {"name": "command"}, limit=1)
    page.keyboard.type("echo '키보드로 제출'")
    tab_to(page, {"name": "chip"}, limit=1)
    page.keyboard.type(SHARED_CHIP)  # a select picks the option typed
    assert page.input_value("select[name=chip]") == SHARED_CHIP
    tab_to(page, {"tag": "button", "text": "작업 제출하기"})
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs/*?ok=job-submitted")
    job_id = page.url.split("/jobs/")[1].split("?")[0]

    # the job, opened from the list of jobs
    tab_to(page, {"tag": "a", "href": "/jobs"})
    page.keyboard.press("Enter")
    page.wait_for_url("**/jobs")
    tab_to(page, {"tag": "a", "href": f"/jobs/{job_id}"})
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/jobs/{job_id}")
    assert page.locator("h1").inner_text().startswith("keyboard-job")
    assert page.locator("pre").first.inner_text() == "echo '키보드로 제출'"
    checked(page)
    job = job_svc.get_job(web_center.server.ctx, tenant.caller, job_id)  # as keyed in
    assert (job.spec.name, job.spec.command) == ("keyboard-job", "echo '키보드로 제출'")
    assert [r.chip for r in job.spec.resources] == [SHARED_CHIP]
    assert job.status is not JobStatus.FAILED
    assert not web_center.outside_requests, web_center.outside_requests
