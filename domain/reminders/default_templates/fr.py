"""Modèles de relance par défaut en français : prévention (0) et R1…R5, par e-mail et par courrier.

Traducteurs : ne modifiez que le texte entre les triples guillemets ; gardez tels quels les
{{ champs }} et les {% if %}…{% endif %}. Voir domain/reminders/default_templates/__init__.py.
"""
from domain.reminders.default_templates.default import Default

EMAIL = {
    0: Default(
        subject="Échéance à venir – {{ company.name }}, compte {{ customer.account }}",
        body="""\
Bonjour{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Pour faciliter votre organisation, nous vous informons que les factures suivantes arrivent
bientôt à échéance :

{{ entries_table }}

Montant à régler : {{ total_open }}

Si le paiement est déjà programmé, merci, et ne tenez pas compte de ce message. Si une de ces
factures doit être corrigée, répondez simplement à cet e-mail : nous réglerons la question avant
l'échéance.

Cordialement,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    1: Default(
        subject="Rappel de paiement – {{ company.name }}, compte {{ customer.account }}",
        body="""\
Bonjour{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Sauf erreur de notre part, les factures suivantes ont dépassé leur date d'échéance. Il s'agit
peut-être d'un simple oubli :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Pourriez-vous procéder au règlement dans les meilleurs délais ? Si votre paiement est déjà
parti, merci, et ne tenez pas compte de ce rappel.

Cordialement,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    2: Default(
        subject="Deuxième relance : factures échues – compte {{ customer.account }}",
        body="""\
{% if customer.contact_name %}Bonjour {{ customer.contact_name }}{% else %}Madame, Monsieur{% endif %},

Malgré notre précédent rappel, nous n'avons pas encore reçu le règlement des factures
suivantes :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Nous vous remercions de bien vouloir régler ce montant sous 8 jours. Si un élément empêche le
paiement (document manquant, question sur une facture), merci de nous le signaler afin que nous
puissions le résoudre rapidement.

Cordialement,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    3: Default(
        subject="Troisième relance : règlement attendu – compte {{ customer.account }}",
        body="""\
{% if customer.contact_name %}Bonjour {{ customer.contact_name }}{% else %}Madame, Monsieur{% endif %},

Malgré nos relances, les factures suivantes restent impayées :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Nous vous demandons de régler ce montant sous 8 jours à compter de ce message. Si vous contestez
l'une de ces factures, merci de nous en indiquer dès maintenant le motif. À défaut de règlement
ou de réponse, nous serons contraints d'engager d'autres démarches.

Salutations,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    4: Default(
        subject="Dernière relance avant mise en demeure – compte {{ customer.account }}",
        body="""\
{% if customer.contact_name %}Bonjour {{ customer.contact_name }}{% else %}Madame, Monsieur{% endif %},

Ceci est notre dernière relance. Les factures suivantes demeurent impayées malgré nos demandes
répétées :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Sans règlement de ce montant sous 8 jours, nous vous adresserons une mise en demeure de payer, et
le dossier pourra ensuite être confié à un cabinet de recouvrement, avec les frais que cela
entraîne.

Salutations,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    5: Default(
        subject="Mise en demeure de payer – compte {{ customer.account }}",
        body="""\
Madame, Monsieur,

Malgré nos relances successives, les sommes suivantes dues à {{ company.name }} restent
impayées :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Par la présente, nous vous mettons en demeure de régler ce montant dans un délai de 8 jours à
compter de la réception de ce message.

À défaut de paiement dans ce délai, nous confierons sans autre avis le recouvrement de cette
créance à notre cabinet de recouvrement et/ou engagerons une procédure judiciaire, en réclamant
en outre les pénalités de retard et l'indemnité forfaitaire pour frais de recouvrement prévues à
l'article L441-10 du Code de commerce, ainsi que tous les frais engagés.

Veuillez agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
}

LETTER = {
    0: Default(
        subject="Échéance à venir – compte {{ customer.account }}",
        body="""\
Madame, Monsieur,

Pour faciliter votre organisation, nous vous informons que les factures suivantes arrivent
bientôt à échéance :

{{ entries_table }}

Montant à régler : {{ total_open }}

Si le paiement est déjà programmé, nous vous en remercions et vous prions de ne pas tenir compte
de ce courrier. Si une de ces factures doit être corrigée, merci de nous contacter avant
l'échéance.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
"""),
    1: Default(
        subject="Rappel de paiement – compte {{ customer.account }}",
        body="""\
Madame, Monsieur,

Sauf erreur de notre part, les factures suivantes ont dépassé leur date d'échéance :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Il s'agit peut-être d'un simple oubli. Nous vous remercions de bien vouloir procéder au
règlement dans les meilleurs délais. Si votre paiement est déjà parti, merci de ne pas tenir
compte de ce courrier.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
"""),
    2: Default(
        subject="Deuxième relance : factures échues – compte {{ customer.account }}",
        body="""\
Madame, Monsieur,

Malgré notre précédent rappel, nous n'avons pas encore reçu le règlement des factures
suivantes :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Nous vous remercions de bien vouloir régler ce montant sous 8 jours. Si un élément empêche le
paiement, merci de nous le signaler afin que nous puissions le résoudre rapidement.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
"""),
    3: Default(
        subject="Troisième relance : règlement attendu – compte {{ customer.account }}",
        body="""\
Madame, Monsieur,

Malgré nos relances, les factures suivantes restent impayées :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Nous vous demandons de régler ce montant sous 8 jours à compter de la réception de ce courrier.
Si vous contestez l'une de ces factures, merci de nous en indiquer le motif par écrit sans
délai. À défaut de règlement ou de réponse, nous serons contraints d'engager d'autres démarches.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
"""),
    4: Default(
        subject="Dernière relance avant mise en demeure – compte {{ customer.account }}",
        body="""\
Madame, Monsieur,

Ceci est notre dernière relance. Les factures suivantes demeurent impayées malgré nos demandes
répétées :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Sans règlement de ce montant sous 8 jours à compter de la réception de ce courrier, nous vous
adresserons une mise en demeure de payer, et le dossier pourra ensuite être confié à un cabinet
de recouvrement, avec les frais que cela entraîne.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
"""),
    5: Default(
        subject="Mise en demeure de payer",
        body="""\
Lettre recommandée avec accusé de réception

Madame, Monsieur,

Malgré nos relances successives, les sommes suivantes dues par {{ customer.name }} à
{{ company.name }} restent impayées :

{{ entries_table }}

Montant échu : {{ total_overdue }}

Par la présente, nous vous mettons en demeure de régler ce montant dans un délai de 8 jours à
compter de la réception de ce courrier.

À défaut de paiement dans ce délai, nous confierons sans autre avis le recouvrement de cette
créance à notre cabinet de recouvrement et/ou engagerons une procédure judiciaire, en réclamant
en outre les pénalités de retard et l'indemnité forfaitaire pour frais de recouvrement prévues à
l'article L441-10 du Code de commerce, ainsi que tous les frais engagés.

Nous vous prions d'agréer, Madame, Monsieur, nos salutations distinguées.

{{ sender.name }}
{{ company.name }}
"""),
}

# Messages sur un échéancier (domain/reminders/instalments.py) : l'accord, envoyé avec le PDF de
# l'échéancier ; le rappel avant une échéance ; la relance d'une échéance impayée.
SCHEDULE = {
    "schedule_agreed": Default(
        subject="Échéancier de paiement convenu – {{ company.name }}, compte {{ customer.account }}",
        body="""\
Bonjour{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Comme convenu, {{ customer.name }} réglera {{ schedule.total|money(schedule.currency) }} en
{{ schedule.instalment_count }} échéances :

{% for i in schedule.instalments %}  {{ i.number }}. {{ i.due_date }} : {{ i.amount|money(schedule.currency) }}
{% endfor %}
Ces échéances règlent les factures suivantes :

{{ entries_table }}

Vous trouverez l'échéancier en pièce jointe : merci de nous le retourner signé. Tant que les
échéances sont réglées à leur date, nous ne vous relancerons pas pour ces factures. Si une
échéance n'est pas réglée, l'échéancier peut prendre fin et la totalité du solde restant dû
devenir immédiatement exigible.

Cordialement,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    "instalment_notice": Default(
        subject="Échéance {{ instalment.number }} de votre échéancier – {{ company.name }}",
        body="""\
Bonjour{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Pour faciliter votre organisation, nous vous rappelons que l'échéance {{ instalment.number }} sur
{{ schedule.instalment_count }} de l'échéancier convenu avec {{ company.name }} arrive à son terme
le {{ instalment.due_date }}.

Montant à régler : {{ instalment.left|money(schedule.currency) }}

Si le paiement est déjà programmé, merci, et ne tenez pas compte de ce message.

Cordialement,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
    "instalment_overdue": Default(
        subject="Échéance {{ instalment.number }} de votre échéancier impayée – {{ company.name }}",
        body="""\
Bonjour{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Sauf erreur de notre part, l'échéance {{ instalment.number }} sur {{ schedule.instalment_count }}
de l'échéancier convenu avec {{ company.name }}, due le {{ instalment.due_date }}, n'a pas été
réglée.

Montant restant dû pour cette échéance : {{ instalment.left|money(schedule.currency) }}

Merci de la régler sans délai afin que l'échéancier se poursuive : faute de paiement des
échéances, l'échéancier prend fin et la totalité du solde restant dû, soit
{{ schedule.remaining|money(schedule.currency) }}, devient immédiatement exigible.

Cordialement,

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
}

# L'e-mail qui accompagne une mise en demeure (la mise en demeure elle-même est la lettre jointe).
NOTICE = {
    "formal_notice": Default(
        subject="Mise en demeure – {{ company.name }}, compte {{ customer.account }}",
        body="""\
Bonjour{% if customer.contact_name %} {{ customer.contact_name }}{% endif %},

Malgré nos relances, les factures ci-dessous restent impayées :

{{ entries_table }}

Vous trouverez en pièce jointe notre mise en demeure de régler {{ notice.total|money(notice.currency) }}
au plus tard le {{ notice.deadline }}{% if notice.claims_charges %}, pénalités de retard et indemnité forfaitaire
pour frais de recouvrement comprises{% endif %}.

À défaut de paiement à cette date, nous transmettrons le dossier au recouvrement sans autre avis.

{{ sender.name }}
{{ company.name }}
{{ sender.email }}
"""),
}
