"""English default reminder templates: prevention (0) and R1…R5, by e-mail and by letter.

Translators: change only the text between the triple quotes; keep every {{ placeholder }} and
{% if %}…{% endif %} as it is. See domain/reminders/default_templates/__init__.py.
"""
from domain.reminders.default_templates.default import Default

EMAIL = {
    0: Default(
        subject="Upcoming due date – {{ company.name }}, account {{ customer.account }}",
        body="""\
Hello{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

As a courtesy, here is a heads-up that the following invoices will soon fall due:

{{ entries_table }}

Amount due: {{ total_open }}

If payment is already scheduled, thank you, and please disregard this message. If anything on
these invoices needs correcting, simply reply to this e-mail and we will sort it out before the
due date.

Kind regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    1: Default(
        subject="Payment reminder – {{ company.name }}, account {{ customer.account }}",
        body="""\
Hello{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Our records show that the following invoices are now past their due date. It may simply have
slipped through the net:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

Could you please arrange payment at your earliest convenience? If you have already paid, thank
you, and please disregard this reminder.

Kind regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    2: Default(
        subject="Second reminder: overdue invoices – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Further to our previous reminder, we have not yet received payment for the following invoices:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

We would be grateful if you could settle this amount within 8 days. If something prevents
payment (a missing document, a query about an invoice), please let us know so that we can
resolve it quickly.

Kind regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    3: Default(
        subject="Third reminder: payment required – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Despite our reminders, the following invoices remain unpaid:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

We ask you to pay this amount within 8 days of this message. If you dispute any of these
invoices, please tell us now and explain why. Without payment or a reply from you, we will have
to take further action.

Regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    4: Default(
        subject="Final reminder before formal notice – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

This is our final reminder. The following invoices are still unpaid despite our repeated
requests:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

Unless we receive this amount within 8 days, we will send you a formal notice to pay, and the
matter may then be handed over to a collection agency, with the costs this entails.

Regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    5: Default(
        subject="Formal notice to pay – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Despite our repeated reminders, the following sums owed to {{ company.name }} remain unpaid:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

We hereby give you formal notice to pay this amount within 8 days of receipt of this message.

Failing payment within this period, we will, without further notice, refer this debt to our
collection agency and/or bring legal proceedings to recover it, together with late-payment
interest, the fixed compensation for recovery costs and any other costs incurred.

Yours faithfully,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
}

LETTER = {
    0: Default(
        subject="Upcoming due date – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

As a courtesy, we would like to remind you that the following invoices will soon fall due:

{{ entries_table }}

Amount due: {{ total_open }}

If payment is already scheduled, thank you, and please disregard this letter. Should anything
on these invoices need correcting, please contact us before the due date.

Yours sincerely,

{{ sender.name }}
{{ company.name }}
"""),
    1: Default(
        subject="Payment reminder – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Our records show that the following invoices are now past their due date:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

This may simply be an oversight. We would be grateful if you could arrange payment at your
earliest convenience. If you have already paid, please disregard this letter.

Yours sincerely,

{{ sender.name }}
{{ company.name }}
"""),
    2: Default(
        subject="Second reminder: overdue invoices – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Further to our previous reminder, we have not yet received payment for the following invoices:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

We would be grateful if you could settle this amount within 8 days. If something prevents
payment, please let us know so that we can resolve it quickly.

Yours sincerely,

{{ sender.name }}
{{ company.name }}
"""),
    3: Default(
        subject="Third reminder: payment required – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Despite our reminders, the following invoices remain unpaid:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

We ask you to pay this amount within 8 days of receipt of this letter. If you dispute any of
these invoices, please inform us in writing without delay. Without payment or a reply from you,
we will have to take further action.

Yours sincerely,

{{ sender.name }}
{{ company.name }}
"""),
    4: Default(
        subject="Final reminder before formal notice – account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

This is our final reminder. The following invoices are still unpaid despite our repeated
requests:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

Unless we receive this amount within 8 days of receipt of this letter, we will send you a formal
notice to pay, and the matter may then be handed over to a collection agency, with the costs
this entails.

Yours sincerely,

{{ sender.name }}
{{ company.name }}
"""),
    5: Default(
        subject="Formal notice to pay",
        body="""\
Sent by recorded delivery

Dear {{ customer.contact_name or "Sir or Madam" }},

Despite our repeated reminders, the following sums owed by {{ customer.name }} to
{{ company.name }} remain unpaid:

{{ entries_table }}

Amount overdue: {{ total_overdue }}

We hereby give you formal notice to pay this amount within 8 days of receipt of this letter.

Failing payment within this period, we will, without further notice, refer this debt to our
collection agency and/or bring legal proceedings to recover it, together with late-payment
interest, the fixed compensation for recovery costs and any other costs incurred.

Yours faithfully,

{{ sender.name }}
{{ company.name }}
"""),
}

# Messages about a payment schedule (domain/reminders/instalments.py): the agreement, sent with the
# schedule PDF; the heads-up before an instalment; the reminder of one instalment left unpaid.
SCHEDULE = {
    "schedule_agreed": Default(
        subject="Payment plan agreed – {{ company.name }}, account {{ customer.account }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

As agreed, {{ customer.name }} will pay {{ schedule.total|money(schedule.currency) }} in
{{ schedule.instalment_count }} instalments:

{% for i in schedule.instalments %}  {{ i.number }}. {{ i.due_date }}: {{ i.amount|money(schedule.currency) }}
{% endfor %}
These instalments settle the following invoices:

{{ entries_table }}

Please find the payment plan attached: kindly sign it and send it back to us. While the
instalments are paid on their dates, we will not send you reminders for these invoices. If an
instalment is missed, the plan may end and the whole amount still due become payable at once.

Kind regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    "instalment_notice": Default(
        subject="Instalment {{ instalment.number }} of your payment plan – {{ company.name }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

A friendly reminder: instalment {{ instalment.number }} of {{ schedule.instalment_count }} of the
payment plan agreed with {{ company.name }} is due on {{ instalment.due_date }}.

Amount to pay: {{ instalment.left|money(schedule.currency) }}

If the payment is already on its way, thank you, and please disregard this message.

Kind regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    "instalment_overdue": Default(
        subject="Instalment {{ instalment.number }} of your payment plan is overdue – {{ company.name }}",
        body="""\
Dear {{ customer.contact_name or "Sir or Madam" }},

Unless we are mistaken, instalment {{ instalment.number }} of {{ schedule.instalment_count }} of
the payment plan agreed with {{ company.name }}, due on {{ instalment.due_date }}, has not been
paid.

Amount still due for this instalment: {{ instalment.left|money(schedule.currency) }}

Please pay it without delay so that the plan can continue: if instalments remain unpaid, the plan
ends and the whole amount still due, {{ schedule.remaining|money(schedule.currency) }}, becomes
payable at once.

Kind regards,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
}

# The e-mail a formal notice goes with (the notice itself is the attached letter).
NOTICE = {
    "formal_notice": Default(
        subject="Formal notice – {{ company.name }}, account {{ customer.account }}",
        body="""\
Hello{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Despite our reminders, the invoices below remain unpaid:

{{ entries_table }}

Please find attached our formal notice to pay {{ notice.total|money(notice.currency) }}
by {{ notice.deadline }} at the latest{% if notice.claims_charges %}, which includes the late-payment interest
and the fixed recovery indemnity due by law{% endif %}.

Without payment by that date, we will pass the matter on for collection without further notice.

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
}
