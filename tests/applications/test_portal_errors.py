"""The error pattern of the portal's forms, and the dead ends taken away: what a person sees when a form is wrong.

A summary at the top names every error with a link to its field; the field carries the same message, is marked
invalid and points at the message; the messages say what to do, never "This field is required."; a room is not
self-contained by default; an attachment is removed only after a confirmation.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django import forms
from django.urls import reverse
from django.utils import translation

from applications.forms import NldsForm
from applications.models import Attachment, AttachmentKind
from tests.factories import ApplicationFactory, UserFactory
from tests.files import PDF_MIME, pdf_bytes, upload
from tests.portal import client_for, edit_data, line, url

pytestmark = pytest.mark.django_db


class _Page(HTMLParser):
    """The elements of a page by id, and the links of its error summary with their text."""

    def __init__(self, html: str):
        super().__init__()
        self.by_id: dict[str, dict] = {}
        self.summary_links: list[tuple[str, str]] = []
        self._summary_depth = 0
        self._link: list | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {"tag": tag, **{name: value or "" for name, value in attrs}}
        if "id" in attributes:
            self.by_id[attributes["id"]] = attributes
        if self._summary_depth and tag not in ("input", "br"):
            self._summary_depth += 1
        elif "data-error-summary" in attributes:
            self._summary_depth = 1
        if self._summary_depth and tag == "a":
            self._link = [attributes["href"], ""]

    def handle_endtag(self, tag):
        if self._summary_depth:
            self._summary_depth -= 1
        if tag == "a" and self._link is not None:
            self.summary_links.append((self._link[0], " ".join(self._link[1].split())))
            self._link = None

    def handle_data(self, data):
        if self._link is not None:
            self._link[1] += data


def _edit(editor, draft, lines, **fields) -> _Page:
    response = client_for(editor).post(url("application_edit", draft), edit_data(draft, lines, **fields))
    assert response.status_code == 200
    return _Page(response.content.decode())


def _messages(page: _Page) -> list[str]:
    return [text for _, text in page.summary_links]


def test_missing_answers_are_named_each_in_its_own_words(editor, draft):
    started = {"target_group": line(draft)["target_group"], "construction": "new_build"}
    page = _edit(editor, draft, [line(draft), started], project_name="", location="")
    assert _messages(page) == [
        "Fill in the project name.",
        "Fill in the location of the project.",
        "Unit line 2: Choose a housing type.",
        "Unit line 2: Choose permanent or flexible.",
        "Unit line 2: Choose whether the units are self-contained.",
        "Unit line 2: Fill in the number of units.",
    ]


def test_each_summary_link_leads_to_its_field_which_is_marked_and_points_at_the_same_message(editor, draft):
    started = {"target_group": line(draft)["target_group"], "construction": "new_build"}
    page = _edit(editor, draft, [line(draft), started], project_name="")
    assert page.summary_links
    for href, text in page.summary_links:
        assert href.startswith("#")
        field = page.by_id[href[1:]]
        assert field["tag"] in ("input", "select", "textarea"), href
        assert field["aria-invalid"] == "true", href
        message_id = field["id"].removesuffix("_0") + "_error"
        assert message_id in page.by_id, href
        # A radio group's fieldset names the message; a single field does so itself.
        if field.get("type") != "radio":
            assert message_id in field["aria-describedby"].split(), href
        assert text


def test_the_radio_group_is_described_by_its_message(editor, draft):
    started = {"target_group": line(draft)["target_group"], "construction": "new_build"}
    html = client_for(editor).post(url("application_edit", draft), edit_data(draft, [started])).content.decode()
    assert 'aria-describedby="id_lines-0-self_contained_helptext id_lines-0-self_contained_error"' in html


def test_nothing_says_this_field_is_required_in_either_language(editor, draft):
    started = {"target_group": line(draft)["target_group"], "construction": "new_build"}
    for language, generic in (("en", "This field is required"), ("nl", "Dit veld is vereist")):
        client = client_for(editor, language=language)
        response = client.post(url("application_edit", draft), edit_data(draft, [started], project_name=""))
        assert "data-error-summary" in response.content.decode()
        assert generic not in response.content.decode()


def test_a_required_field_without_its_own_message_is_named_in_the_generic_one():
    class Example(NldsForm):
        name = forms.CharField(label="Name of the project")
        kind = forms.ChoiceField(choices=[("", "-"), ("a", "A")], label="Kind")
        postal_code = forms.CharField()

    with translation.override("en"):
        form = Example(data={})
        assert form.errors == {
            "name": ["Fill in “Name of the project”."],
            "kind": ["Choose an answer for “Kind”."],
            "postal_code": ["Fill in “Postal code”."],
        }


@pytest.mark.parametrize("written", ["7.000", "7000,50", "€ 1.234.567", "7000.50"])
def test_amounts_are_read_as_people_write_them(editor, draft, written):
    data = line(draft, units="200", requested_amount=written)
    response = client_for(editor).post(url("application_edit", draft), edit_data(draft, [data]))
    assert response.status_code == 302, response.context["formset"].errors


def test_amount_fields_are_text_with_the_decimal_keyboard(editor, draft):
    html = client_for(editor).get(url("application_edit", draft)).content.decode()
    assert 'name="lines-0-requested_amount"' in html
    assert 'type="number" name="lines-0-requested_amount"' not in html
    assert 'inputmode="decimal"' in html


# --- self-contained: no default ---------------------------------------------------------------------------


def test_self_contained_is_a_yes_or_no_question_with_neither_answer_ticked_on_a_new_line(editor, draft):
    draft.unit_lines.all().delete()
    html = client_for(editor).get(url("application_edit", draft)).content.decode()
    for value in ("True", "False"):
        assert f'type="radio" name="lines-0-self_contained" value="{value}"' in html
    radios = [tag for tag in html.split("<input") if 'name="lines-0-self_contained"' in tag]
    assert len(radios) == 2
    assert not any("checked" in tag.split(">")[0] for tag in radios)


def test_a_line_without_the_self_contained_answer_is_refused_and_nothing_saved(editor, draft):
    before = list(draft.unit_lines.values_list("self_contained", flat=True))
    data = line(draft, self_contained=None)
    response = client_for(editor).post(url("application_edit", draft), edit_data(draft, [data]))
    assert response.context["formset"].forms[0].errors["self_contained"] == [
        "Choose whether the units are self-contained."
    ]
    assert list(draft.unit_lines.values_list("self_contained", flat=True)) == before


@pytest.mark.parametrize(("answer", "saved"), [("True", True), ("False", False)])
def test_the_self_contained_answer_is_saved_as_given(editor, draft, answer, saved):
    data = line(draft, self_contained=answer)
    response = client_for(editor).post(url("application_edit", draft), edit_data(draft, [data]))
    assert response.status_code == 302
    assert list(draft.unit_lines.values_list("self_contained", flat=True)) == [saved]


def test_a_saved_line_shows_its_answer_again(editor, draft):
    client = client_for(editor)
    client.post(url("application_edit", draft), edit_data(draft, [line(draft, self_contained="False")]))
    html = client.get(url("application_edit", draft)).content.decode()
    [no] = [tag for tag in html.split("<input") if 'name="lines-0-self_contained" value="False"' in tag]
    assert "checked" in no.split(">")[0]


# --- attachments: a failed upload is in view, a removal is confirmed ----------------------------------------


def _attachment(application, user) -> Attachment:
    attachment = Attachment(
        application=application,
        kind=AttachmentKind.PROJECT_PLAN,
        original_name="projectplan.pdf",
        content_type=PDF_MIME,
        size=len(pdf_bytes()),
        sha256="0" * 64,
        uploaded_by=user,
    )
    attachment.file.save("projectplan.pdf", upload("projectplan.pdf", pdf_bytes()), save=False)
    attachment.save()
    return attachment


def test_a_failed_upload_comes_back_with_the_summary_linking_to_the_file_field(editor, draft):
    response = client_for(editor).post(url("attachment_upload", draft), {"kind": ""})
    page = _Page(response.content.decode())
    assert dict(page.summary_links) == {
        "#id_kind": "Choose the kind of document.",
        "#id_file": "Choose the file to upload.",
    }


def test_removing_an_attachment_asks_first_and_keeps_it_until_confirmed(editor, draft):
    attachment = _attachment(draft, editor)
    delete = url("attachment_delete", draft, attachment.pk)
    client = client_for(editor)

    for response in (client.get(delete), client.post(delete)):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Remove this attachment?" in html
        assert "projectplan.pdf" in html
        assert 'name="confirm"' in html
    assert draft.attachments.filter(pk=attachment.pk).exists()

    response = client.post(delete, {"confirm": "yes"})
    assert response.status_code == 302
    assert not draft.attachments.filter(pk=attachment.pk).exists()


def test_the_confirmation_is_not_offered_for_a_submitted_application(editor):
    submitted = ApplicationFactory(submitted=True, municipality=editor.municipality)
    attachment = _attachment(submitted, editor)
    response = client_for(editor).get(url("attachment_delete", submitted, attachment.pk))
    assert response.status_code == 403
    assert submitted.attachments.filter(pk=attachment.pk).exists()


# --- the main menu --------------------------------------------------------------------------------------


def _menu(html: str) -> str:
    start = html.index('aria-label="Main menu"')
    return html[start : html.index("</nav>", start)]


def test_the_analysts_menu_leads_to_the_dashboard_and_not_to_the_back_office():
    menu = _menu(client_for(UserFactory(analyst=True)).get(reverse("ministry:dashboard")).content.decode())
    assert f'href="{reverse("ministry:dashboard")}"' in menu
    assert f'href="{reverse("admin:index")}"' not in menu
    assert f'href="{reverse("portal:home")}"' not in menu


def test_agency_staff_have_the_back_office_in_their_menu():
    menu = _menu(client_for(UserFactory(assessor=True)).get(reverse("ministry:dashboard")).content.decode())
    assert f'href="{reverse("admin:index")}"' in menu


def test_municipal_users_have_no_back_office_in_their_menu(editor):
    menu = _menu(client_for(editor).get(reverse("portal:application_list")).content.decode())
    assert f'href="{reverse("admin:index")}"' not in menu
