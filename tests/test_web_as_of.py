"""The web pages as of a date: an article as it was on a day, checks with that day's rules."""

from __future__ import annotations

from .conftest import make_token
from .test_web import page

KB = "/kb/885348"
API = "/api/v1/articles/885348"


def _publish_xp_rules(client, app) -> None:
    """Today's revision 2.3 makes KB885348 apply to every Windows XP system."""
    headers = {"Authorization": f"Bearer {make_token(app, 'editor')}"}
    etag = client.get(API).headers["ETag"]
    response = client.put(
        f"{API}/rules",
        json={"rules": {"product": "windows_xp"}, "examples": []},
        headers={**headers, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_data(as_text=True)


def test_the_article_as_it_was_on_a_day(client, app):
    _publish_xp_rules(client, app)
    today = page(client.get(KB, query_string={"locale": "en"}))
    assert "Revision 2.3" in today
    assert 'type="date" id="as_of" name="as_of"' in today
    then = page(client.get(KB, query_string={"locale": "en", "as_of": "2007-03-31"}))
    assert "Revision 2.2" in then
    assert "as it was on 2007-03-31" in then
    assert 'value="2007-03-31"' in then
    assert "from=2.2&amp;to=2.3" in then  # compare with the current revision
    # The end of support (2015) was not yet a notice in 2007.
    assert "notice-lifecycle" not in then
    assert "notice-lifecycle" in today


def test_a_day_before_the_article_or_a_bad_date(client):
    before = page(client.get(KB, query_string={"locale": "en", "as_of": "2006-12-19"}), 404)
    assert "did not exist yet on 2006-12-19" in before
    for bad in ("31/03/2007", "2007-02-30", "2007-3-31", "2007-03-31T10:00"):
        html = page(client.get(KB, query_string={"locale": "en", "as_of": bad}), 400)
        assert "Enter a date as YYYY-MM-DD" in html
    # The day it was published counts: as it was at the end of that day.
    assert "Revision 2.2" in page(client.get(KB, query_string={"as_of": "2006-12-20"}))


def test_the_check_page_judges_by_the_rules_of_a_day(client, app):
    _publish_xp_rules(client, app)
    system = {"kb": "885348", "product": "windows_xp", "locale": "en"}
    now = page(client.get("/check", query_string=system))
    assert "badge-applies" in now
    assert "Judged by revision 2.3" in now
    then = page(client.get("/check", query_string={**system, "as_of": "2007-03-31"}))
    assert "verdict-not_applicable" in then
    assert "Judged by revision 2.2" in then
    assert "Results with the rules as they were on 2007-03-31" in then
    assert 'id="as_of"' in then and 'value="2007-03-31"' in then
    # A date alone is no submitted form.
    assert "verdicts-heading" not in page(
        client.get("/check", query_string={"as_of": "2007-03-31"})
    )


def test_the_check_page_refuses_a_bad_date_or_an_article_not_yet_written(client):
    bad = page(
        client.get("/check", query_string={"product": "windows_xp", "as_of": "yesterday"}), 422
    )
    assert 'id="as_of-error"' in bad
    assert 'href="#as_of"' in bad
    early = page(
        client.get(
            "/check", query_string={"kb": "885348", "product": "windows_xp", "as_of": "2006-01-01"}
        ),
        422,
    )
    assert 'id="kb-error"' in early
