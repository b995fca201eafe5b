"""The entry rows' links are built from one URL per endpoint and request (row_url), not a url_for per
link: each must be exactly what url_for gives, whatever the account looks like."""
import pytest
from flask import render_template_string, url_for


@pytest.mark.parametrize("account", ["C001", "987654321987", "A/B é&?"])
def test_row_url_is_url_for(app, account):
    with app.test_request_context("/", base_url="http://relance.test/prefix"):
        for entry_id in (1, 42, 987654321987):
            for endpoint in ("customers.entry_stop_reminders", "customers.entry_history", "attachments.attach",
                             "customers.edit_entry", "customers.remove_collection_mark", "follow_up.entry_switch"):
                built = render_template_string("{{ row_url(e, i) }}", e=endpoint, i=entry_id)
                assert built == url_for(endpoint, entry_id=entry_id)
            compose = render_template_string("{{ row_url('reminders.compose', i, key='entry', account=a, "
                                             "channel='email') }}", i=entry_id, a=account)
            assert compose == str(url_for("reminders.compose", entry=entry_id, account=account, channel="email")
                                  ).replace("&", "&amp;")
            download = render_template_string("{{ row_url('attachments.download', i, key='attachment_id') }}",
                                              i=entry_id)
            assert download == url_for("attachments.download", attachment_id=entry_id)
