"""Demo data: a realistic, deterministic receivables ledger for a first look and for load tests.

Two halves, kept apart on purpose:

* `DemoLedger` is pure: from a plan (sizes, seed), "today" and the ids of the demo users it
  yields rows as plain dicts, table by table, in an order the foreign keys accept. The same
  plan gives the same rows, which is what the tests compare.
* `load_demo` writes those rows into an empty database with Core `insert()` executemany (no ORM
  objects for the million entries), rebuilds every summary once, renders a few invoice PDFs and
  commits it all in one transaction.

All e-mail domains end in `.example` (reserved by RFC 2606), so a demo database plugged into a
real mail server reaches nobody; French, British and US phone numbers come from the ranges those
countries keep for fiction.
"""
from __future__ import annotations

import bisect
import itertools
import random
import threading
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from pathlib import Path
from queue import Full, Queue
from typing import Callable, Iterator, NamedTuple

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session
from stdnum import luhn

from domain import clock
from domain.i18n import Said, kept, say
from domain.ledger.summaries import refresh_summaries
from domain.models import (CREDIT_NOTE, INVOICE, MAX_LEVEL, Attachment, AuditEvent, CollectionCase, Contact, Customer,
                           Dispute, DisputeEntry, DisputeEvent, Entry, Instalment, Payment, PaymentSchedule, Promise,
                           PromiseEntry, ReminderActivity, ReminderEntry, ScheduleEntry, User)
from domain.money import format_money
from domain.users import create_user, find_user

DEMO_LOGIN = ("demo@relance.test", "demo-password")  # matches cli.serve.DEMO_LOGIN
DEMO_USERS = (
    # e-mail, role, name: the admin is the login shown by `serve`; the others share its password.
    (DEMO_LOGIN[0], "admin", "Camille Durand"),
    ("finance@relance.test", "finance", "Hugo Lambert"),
    ("support@relance.test", "support", "Inès Moreau"),
)

HISTORY_DAYS = 548  # about 18 months of invoicing
MAX_INVOICE_PDFS = 30  # rendering is slow (WeasyPrint); a handful shows the feature
CHUNK = 10_000  # rows per executemany: big enough to amortise, small enough for memory
MAX_ACTIVITIES_PER_CUSTOMER = 3  # the latest reminder runs only, so big demos stay light
MAX_COVERED_PER_ACTIVITY = 40

# Days after the due date when each reminder level goes out (R1 … R5): R5 is "over 90 days".
REMINDER_OFFSETS = (3, 15, 30, 60, 91)
assert len(REMINDER_OFFSETS) == MAX_LEVEL

SELLER = {
    "name": "Maison Exemple SAS",
    "address": "8 rue de l'Exemple\n75002 Paris\nFrance",
    "registration_number": "732829320",
    "vat_number": "FR44732829320",
    "email": "comptabilite@maison-exemple.example",
    "phone": "+33 1 99 00 12 34",
}


@dataclass(frozen=True)
class DemoPlan:
    customers: int = 300
    entries: int = 6_000
    seed: int = 2026
    invoice_pdfs: int = 12

    def __post_init__(self):
        if self.customers < 1:
            raise ValueError("the demo needs at least one customer")
        if self.entries < 0:
            raise ValueError("the number of entries cannot be negative")
        if not 0 <= self.invoice_pdfs <= MAX_INVOICE_PDFS:
            raise ValueError(f"between 0 and {MAX_INVOICE_PDFS} invoice PDFs")


@dataclass(frozen=True)
class DemoActors:
    """User ids the flags and manual reminders are attributed to."""

    admin: int
    finance: int
    support: int


# --- word lists --------------------------------------------------------------------------

FR_SURNAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert",
    "Bonnet", "François", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller",
    "Henry", "Roussel", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont", "Fontaine",
    "Chevalier", "Robin", "Masson", "Gérard", "Nguyen", "Boyer", "Denis", "Lemaire", "Duval",
    "Joly", "Roche", "Noël", "Meyer", "Lucas", "Meunier", "Marchand", "Dufour", "Blanchard",
    "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Renard", "Arnaud",
    "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine",
    "Picard", "Gaillard", "Lacroix", "Fabre", "Dupuis", "Olivier", "Hubert", "Guillot", "Rivière",
    "Le Gall", "Moulin", "Berger", "Lecomte", "Ménard", "Fleury", "Deschamps", "Carpentier",
    "Benoît", "Maillard", "Aubry", "Vasseur", "Jacquet", "Collet", "Prévost", "Poirier", "Royer",
    "Huet", "Baron", "Dupuy", "Pons", "Carré", "Breton", "Rémy", "Perrot", "Guyot", "Marty",
)
FR_TRADES = (
    "Transports", "Boulangerie", "Menuiserie", "Imprimerie", "Plomberie", "Électricité", "Garage",
    "Pharmacie", "Librairie", "Fromagerie", "Charpente", "Maçonnerie", "Paysages", "Nettoyage",
    "Traiteur", "Optique", "Quincaillerie", "Bâtiment", "Logistique", "Conseil", "Informatique",
    "Emballages", "Matériaux", "Distribution", "Mécanique", "Peintures", "Carrelage", "Chauffage",
    "Froid industriel", "Cave", "Ambulances", "Auto-école", "Couverture", "Serrurerie",
)
FR_PLACES = (
    "du Centre", "de la Gare", "du Port", "des Halles", "du Marché", "du Lac", "de la Vallée",
    "des Alpes", "de l'Ouest", "du Littoral", "des Deux Rives", "de la Côte", "du Parc",
)
FR_BRAND_HEADS = (
    "Néo", "Alti", "Vert", "Proxi", "Euro", "Opti", "Atlan", "Azur", "Hexa", "Info", "Sud",
    "Nord", "Val", "Bio", "Techni", "Lumi", "Agri", "Eco", "Multi", "Sodi", "Stéri", "Armor",
)
FR_BRAND_TAILS = (
    "tec", "plast", "log", "via", "média", "pharm", "bat", "services", "concept", "line",
    "dis", "flux", "nova", "sys", "métal", "pack", "froid", "sol", "énergie",
)
FR_FORMS = ("SARL", "SAS", "SAS", "SA", "EURL", "SASU", "")
FR_FIRST_NAMES = (
    "Marie", "Nathalie", "Isabelle", "Sophie", "Camille", "Julie", "Céline", "Claire", "Émilie",
    "Aurélie", "Sandrine", "Léa", "Manon", "Chloé", "Pierre", "Jean", "Nicolas", "Thomas",
    "Julien", "Philippe", "Laurent", "Antoine", "Stéphane", "Olivier", "Mathieu", "Hugo",
    "François", "Louis", "Romain", "Sébastien",
)
FR_POSITIONS = (
    "Comptable", "Responsable comptabilité fournisseurs", "Directrice administrative et financière",
    "Directeur financier", "Gérant", "Assistante de direction", "Contrôleur de gestion",
    "Responsable des achats",
)
FR_CITIES = (
    # city, postcodes it may use, fiction phone prefix (ARCEP ranges reserved for fiction)
    ("Paris", tuple(f"750{n:02d}" for n in range(1, 21)), "+33 1 99 00"),
    ("Lyon", tuple(f"6900{n}" for n in range(1, 10)), "+33 4 65 71"),
    ("Marseille", tuple(f"130{n:02d}" for n in range(1, 17)), "+33 4 65 71"),
    ("Toulouse", ("31000", "31100", "31200", "31300", "31400", "31500"), "+33 5 36 49"),
    ("Nice", ("06000", "06100", "06200", "06300"), "+33 4 65 71"),
    ("Nantes", ("44000", "44100", "44200", "44300"), "+33 2 61 91"),
    ("Strasbourg", ("67000", "67100", "67200"), "+33 3 53 01"),
    ("Montpellier", ("34000", "34070", "34080", "34090"), "+33 4 65 71"),
    ("Bordeaux", ("33000", "33100", "33200", "33300", "33800"), "+33 5 36 49"),
    ("Lille", ("59000", "59160", "59260", "59777", "59800"), "+33 3 53 01"),
    ("Rennes", ("35000", "35200", "35700"), "+33 2 61 91"),
    ("Reims", ("51100",), "+33 3 53 01"),
    ("Le Havre", ("76600", "76610", "76620"), "+33 2 61 91"),
    ("Saint-Étienne", ("42000", "42100"), "+33 4 65 71"),
    ("Grenoble", ("38000", "38100"), "+33 4 65 71"),
    ("Dijon", ("21000",), "+33 3 53 01"),
    ("Angers", ("49000", "49100"), "+33 2 61 91"),
    ("Nîmes", ("30000", "30900"), "+33 4 65 71"),
    ("Clermont-Ferrand", ("63000", "63100"), "+33 4 65 71"),
    ("Le Mans", ("72000", "72100"), "+33 2 61 91"),
    ("Aix-en-Provence", ("13090", "13100"), "+33 4 65 71"),
    ("Brest", ("29200",), "+33 2 61 91"),
    ("Tours", ("37000", "37100", "37200"), "+33 2 61 91"),
    ("Amiens", ("80000", "80090"), "+33 3 53 01"),
    ("Limoges", ("87000", "87100"), "+33 5 36 49"),
    ("Annecy", ("74000",), "+33 4 65 71"),
    ("Metz", ("57000", "57050"), "+33 3 53 01"),
    ("Orléans", ("45000", "45100"), "+33 2 61 91"),
    ("Rouen", ("76000", "76100"), "+33 2 61 91"),
    ("Caen", ("14000",), "+33 2 61 91"),
    ("Nancy", ("54000", "54100"), "+33 3 53 01"),
    ("La Rochelle", ("17000",), "+33 5 36 49"),
    ("Pau", ("64000",), "+33 5 36 49"),
    ("Poitiers", ("86000",), "+33 5 36 49"),
)
FR_STREETS = (
    "rue de la République", "avenue Victor Hugo", "boulevard Jean Jaurès", "rue de la Gare",
    "avenue du Général de Gaulle", "rue des Lilas", "rue Pasteur", "avenue de Verdun",
    "chemin du Moulin", "rue des Écoles", "place de l'Église", "cours Gambetta", "avenue Foch",
    "rue de la Paix", "rue du Commerce", "allée des Tilleuls", "rue Émile Zola", "rue Carnot",
    "route de Paris", "impasse des Artisans", "zone d'activités des Grands Champs",
)
EN_SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell",
    "Rose", "Cox", "Morgan", "Moore", "Murphy", "Kelly", "O'Brien", "Byrne", "Ryan", "Walsh",
    "O'Connor", "Doyle", "McCarthy", "Gallagher", "Harris", "Cooper", "King", "Baker", "Hughes",
    "Edwards", "Hill", "Carter", "Turner", "Parker", "Collins", "Stewart", "Scott", "Young",
    "Morris", "Ward", "Watson", "Campbell", "Anderson", "Price", "Bennett", "Griffiths",
    "Marshall", "Fletcher", "Hunt", "Fraser", "Reid", "Sutherland", "Hayes", "Foster",
)
EN_TRADES = (
    "Engineering", "Logistics", "Print", "Joinery", "Plumbing", "Electrical", "Motors",
    "Catering", "Packaging", "Software", "Consulting", "Building Supplies", "Freight", "Foods",
    "Textiles", "Interiors", "Landscaping", "Cleaning Services", "Haulage", "Brewing",
    "Dental Supplies", "Optics", "Laboratories", "Systems", "Fabrications", "Hire",
)
EN_FIRST_NAMES = (
    "Emma", "Olivia", "Sophie", "Charlotte", "Hannah", "Grace", "Lucy", "Emily", "Sarah", "Aoife",
    "Siobhan", "Jessica", "Rachel", "Laura", "Oliver", "James", "Jack", "Harry", "George",
    "Thomas", "Daniel", "Michael", "David", "Patrick", "Conor", "Sean", "Matthew", "Andrew",
    "Ryan", "Mark",
)
EN_POSITIONS = (
    "Accounts Payable", "Finance Director", "Financial Controller", "Office Manager",
    "Purchase Ledger Clerk", "Bookkeeper", "Managing Director", "Procurement Manager",
)
EN_COUNTRIES = {
    # country: (weight, currencies with weights, VAT %, legal forms, places, cities, streets)
    "United Kingdom": (55, (("GBP", 60), ("EUR", 40)), 20, ("Ltd", "Ltd", "Limited", "plc", "LLP"),
                       ("Thames", "Pennine", "Cotswold", "Mersey", "Severn", "Humber", "Chiltern",
                        "Solent", "Clyde", "Tyne", "Wessex", "Mercia", "Northgate", "Riverside"),
                       (("London", ("EC1", "EC2", "N1", "SE1", "W1", "E14")), ("Manchester", ("M1", "M3", "M4")),
                        ("Birmingham", ("B1", "B3", "B5")), ("Leeds", ("LS1", "LS2", "LS11")),
                        ("Bristol", ("BS1", "BS2")), ("Glasgow", ("G1", "G2")), ("Edinburgh", ("EH1", "EH3")),
                        ("Liverpool", ("L1", "L3")), ("Sheffield", ("S1", "S3")),
                        ("Newcastle upon Tyne", ("NE1",)), ("Nottingham", ("NG1",)), ("Cardiff", ("CF10",)),
                        ("Reading", ("RG1",)), ("Cambridge", ("CB1", "CB2")), ("York", ("YO1",))),
                       ("High Street", "Station Road", "Church Lane", "Mill Lane", "Victoria Road",
                        "Park Avenue", "King Street", "Queen Street", "London Road", "Market Square",
                        "Bridge Street", "Albert Road")),
    "Ireland": (30, (("EUR", 100),), 23, ("Ltd", "Limited", "DAC"),
                ("Liffey", "Shannon", "Wicklow", "Connacht", "Atlantic", "Burren", "Boyne"),
                (("Dublin", ("D02", "D04", "D08", "D15", "D24")), ("Cork", ("T12", "T23")),
                 ("Galway", ("H91",)), ("Limerick", ("V94",)), ("Waterford", ("X91",))),
                ("Main Street", "Harcourt Street", "Dame Street", "Patrick Street", "O'Connell Street",
                 "Quay Street", "Church Road")),
    "United States": (15, (("USD", 70), ("EUR", 30)), 0, ("Inc.", "LLC", "Corp."),
                      ("Lakeshore", "Redwood", "Prairie", "Summit", "Keystone", "Bayview", "Granite",
                       "Pioneer", "Liberty", "Cascade"),
                      (("Boston, MA", ("021",)), ("Chicago, IL", ("606",)), ("Austin, TX", ("787",)),
                       ("Denver, CO", ("802",)), ("Seattle, WA", ("981",)), ("Atlanta, GA", ("303",)),
                       ("Portland, OR", ("972",)), ("Minneapolis, MN", ("554",))),
                      ("Main Street", "Oak Avenue", "Maple Drive", "Commerce Way", "Market Street",
                       "Washington Avenue", "Elm Street", "Industrial Parkway")),
}
UK_POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# How a customer pays: share of customers, days paid after the due date (mean, spread), and the
# chances that an invoice is never paid, paid in part, disputed, or handed over to collection.
PAYER_HABITS = {
    "prompt": dict(share=45, mean=-2, spread=5, never=0.003, partial=0.05, dispute=0.01, collection=0.02),
    "regular": dict(share=30, mean=12, spread=12, never=0.01, partial=0.08, dispute=0.015, collection=0.04),
    "late": dict(share=17, mean=40, spread=25, never=0.04, partial=0.12, dispute=0.025, collection=0.10),
    "difficult": dict(share=8, mean=95, spread=50, never=0.25, partial=0.25, dispute=0.05, collection=0.35),
}
CREDIT_NOTE_SHARE = 0.04
INSTALMENT_SHARE = 0.08  # fully paid invoices settled in two transfers
ENTRY_STOP_SHARE = 0.012
CUSTOMER_STOP_SHARE = 0.02
SHOWCASE = 3  # even a tiny demo shows a few disputes, stops and collection marks

DISPUTE_REASONS = {
    "fr": ("Livraison incomplète, avoir demandé", "Prix différent du devis", "Facture en double selon le client",
           "Prestation contestée, en attente du rapport d'intervention", "Marchandise endommagée à la livraison",
           "Bon de commande manquant"),
    "en": ("Short delivery, credit note requested", "Price differs from the quote",
           "Customer says invoice is a duplicate",
           "Service disputed, waiting for the engineer's report", "Goods damaged on delivery",
           "Purchase order number missing"),
}
STOP_REASONS = {
    "fr": ("Échéancier accordé", "Client en discussion avec le commercial", "Règlement annoncé par téléphone",
           "Litige en cours de traitement"),
    "en": ("Payment plan agreed", "Customer in talks with their account manager", "Payment promised by phone",
           "Dispute being handled"),
}
CUSTOMER_STOP_REASONS = {
    "fr": ("Procédure de sauvegarde en cours", "Grand compte suivi par la direction", "Échéancier global accordé",
           "Redressement judiciaire : créance déclarée"),
    "en": ("Company in administration", "Key account handled by the finance director",
           "Payment plan agreed for the account",
           "Customer restructuring, claim filed"),
}
COLLECTION_REASONS = (
    "No answer to the formal notice", "Handed to the collection agency after R5",
    "Cheque returned unpaid", "Payment plan broken",
)
PRODUCTS = (
    # what an invoice line sells, by language
    {"fr": "Contrat de maintenance (mensuel)", "en": "Maintenance contract (monthly)"},
    {"fr": "Licence logicielle annuelle", "en": "Annual software licence"},
    {"fr": "Transport et livraison", "en": "Carriage and delivery"},
    {"fr": "Fournitures et consommables", "en": "Supplies and consumables"},
    {"fr": "Journée de conseil", "en": "Consulting day"},
    {"fr": "Installation sur site", "en": "On-site installation"},
    {"fr": "Pièces détachées", "en": "Spare parts"},
    {"fr": "Formation des utilisateurs", "en": "User training"},
)

LEVEL_SUBJECTS = {
    "fr": {1: "Rappel : facture arrivée à échéance", 2: "Relance : facture impayée",
           3: "Deuxième relance : facture impayée", 4: "Dernier rappel avant mise en demeure",
           5: "Mise en demeure de payer"},
    "en": {1: "Friendly reminder: invoice now due", 2: "Reminder: unpaid invoice",
           3: "Second reminder: unpaid invoice", 4: "Final reminder before formal notice",
           5: "Formal notice to pay"},
}
TRANSFER_METHODS = {"EUR": "VIR", "GBP": "BACS", "USD": "ACH"}  # how bank statements name a transfer
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --- small pure helpers ------------------------------------------------------------------

def siren(rng: random.Random) -> str:
    """A French company number: 8 digits and a Luhn check digit."""
    body = f"{rng.randrange(100_000_000):08d}"
    return body + luhn.calc_check_digit(body)


def _slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = "".join(ch if ch.isalnum() else " " for ch in plain).split()
    legal = {"sarl", "sas", "sa", "eurl", "sasu", "ltd", "limited", "plc", "llp", "dac", "inc", "llc", "corp"}
    return "-".join(w for w in words if w not in legal) or "client"


def _working_day(day: date) -> date:
    """Reminder runs and bank credits happen on weekdays."""
    weekday = day.weekday()
    return day + timedelta(days=7 - weekday) if weekday >= 5 else day


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs)
    return rng.choices(values, weights=weights)[0]


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute))


def plain_money(cents: int, currency: str, language: str) -> str:
    """Money in a reminder's plain-text body, as the app writes it for the customer's language."""
    return format_money(cents, currency, "fr_FR" if language == "fr" else "en_GB")


def plain_date(day: date, language: str) -> str:
    return day.strftime("%d/%m/%Y") if language == "fr" else f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integers proportional to `weights`, summing exactly to `total`."""
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    left = total - sum(counts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:left]:
        counts[i] += 1
    return counts


# --- the pure generator ------------------------------------------------------------------

class _Reminded(NamedTuple):
    """An open entry that has had reminders, as the reminder history needs it."""

    entry_id: int
    number: str
    due: date
    level: int
    amount_cents: int
    partial: tuple[date, int] | None  # (paid on, cents) of a part payment


@dataclass
class _Account:
    """What the generator knows about one customer beyond its row."""

    id: int
    name: str
    language: str
    country: str
    currency: str
    vat: int
    terms: int
    habits: dict
    size: float
    emails: list[str]
    address: str
    registration_number: str | None
    stopped_on: date | None = None
    reminded: list[_Reminded] = field(default_factory=list)


@dataclass(frozen=True)
class InvoicePrint:
    """Everything an invoice PDF shows; the writer renders it."""

    entry_id: int
    number: str
    language: str
    issue_date: date
    due_date: date
    currency: str
    total_cents: int
    net_cents: int
    vat_cents: int
    vat_rate: int
    lines: tuple[dict, ...]
    customer: dict
    seller: dict
    terms_days: int


class DemoLedger:
    """Seeded generation of the demo rows. Iterate `batches()` once; afterwards `invoice_prints`
    lists the invoices to render and `counts` how many rows each table got."""

    def __init__(self, plan: DemoPlan, today: date, actors: DemoActors, first_ids: dict[str, int] | None = None):
        self.plan, self.today, self.actors = plan, today, actors
        self.first_ids = {"customers": 1, "contacts": 1, "entries": 1, "payments": 1,
                          "reminder_activities": 1, "audit_events": 1, **(first_ids or {})}
        # One stream per concern, so asking for more PDFs does not reshuffle the ledger.
        self._rng = {name: random.Random(f"relance-demo:{plan.seed}:{name}")
                     for name in ("customers", "ledger", "history", "prints")}
        self.invoice_prints: list[InvoicePrint] = []
        self.counts: dict[str, int] = {}
        self._accounts: list[_Account] = []
        self._audit_id = self.first_ids["audit_events"]
        self._payment_id = self.first_ids["payments"]
        self._payments: list[dict] = []  # of the current chunk of entries, as are the audits
        self._audits: list[dict] = []
        self._shown = {"dispute": 0, "collection": 0, "stop": 0}
        self._bank_days: dict[date, tuple[str, datetime]] = {}
        self._reminder_dates: dict[date, tuple[date, ...]] = {}
        self._print_pool: list[tuple[int, _Account, dict]] = []
        self._print_candidates = 0

    def batches(self) -> Iterator[tuple[str, list[dict]]]:
        """(table name, rows) in an order the foreign keys accept."""
        for batch in itertools.chain(self._customers(), self._ledger(), self._reminder_history()):
            table, rows = batch
            if rows:
                self.counts[table] = self.counts.get(table, 0) + len(rows)
                yield batch

    # customers ---------------------------------------------------------------------------

    def _customers(self) -> Iterator[tuple[str, list[dict]]]:
        rng = self._rng["customers"]
        customers, contacts, audits = [], [], []
        seen_names: set[str] = set()
        seen_domains: set[str] = set()
        contact_id = self.first_ids["contacts"]
        habit_names = list(PAYER_HABITS)
        habit_shares = [PAYER_HABITS[h]["share"] for h in habit_names]
        countries = list(EN_COUNTRIES)
        country_shares = [EN_COUNTRIES[c][0] for c in countries]
        stopped = set(rng.sample(range(self.plan.customers),
                                 min(self.plan.customers, max(1, round(self.plan.customers * CUSTOMER_STOP_SHARE)))))
        for n in range(self.plan.customers):
            customer_id = self.first_ids["customers"] + n
            french = rng.random() < 0.65
            if french:
                country, currency, vat = "France", "EUR", 20
                name = self._unique(seen_names, rng, self._french_name)
                city, postcodes, phone_prefix = rng.choice(FR_CITIES)
                address = f"{rng.randint(1, 180)} {rng.choice(FR_STREETS)}\n{rng.choice(postcodes)} {city}\nFrance"
                phone = f"{phone_prefix} {rng.randrange(100):02d} {rng.randrange(100):02d}"
                registration = siren(rng)
                mailboxes = ("comptabilite", "compta", "factures", "fournisseurs")
            else:
                country = rng.choices(countries, weights=country_shares)[0]
                _, currencies, vat, forms, places, cities, streets = EN_COUNTRIES[country]
                currency = _weighted(rng, currencies)
                name = self._unique(seen_names, rng, lambda r: self._english_name(r, forms, places))
                address, phone = self._english_address(rng, country, cities, streets)
                registration = None
                if country == "United Kingdom" and rng.random() < 0.7:
                    registration = f"{rng.randrange(10**8):08d}"  # a Companies House number
                mailboxes = ("accounts", "ap", "invoices", "finance")
            domain, namesakes = f"{_slug(name)}.example", 1
            while domain in seen_domains:  # "Dumont Frères SA" and "Dumont Frères SASU" both slug to dumont-freres
                namesakes += 1
                domain = f"{_slug(name)}-{namesakes}.example"
            seen_domains.add(domain)
            emails = [] if rng.random() < 0.06 else [f"{rng.choice(mailboxes)}@{domain}"]
            if emails and rng.random() < 0.2:
                emails.append(f"{'direction' if french else 'director'}@{domain}")
            account = _Account(
                id=customer_id, name=name, language="fr" if french else "en", country=country,
                currency=currency, vat=vat, terms=rng.choices((30, 45, 60), weights=(50, 30, 20))[0],
                habits=PAYER_HABITS[rng.choices(habit_names, weights=habit_shares)[0]],
                size=min(40.0, max(0.05, rng.lognormvariate(0, 0.9))), emails=emails, address=address,
                registration_number=registration,
            )
            self._accounts.append(account)
            row = {
                "id": customer_id, "account": f"C{n + 1:05d}", "name": name,
                "registration_number": registration, "emails": ",".join(emails), "phone": phone,
                "address": address, "language": account.language,
                "created_at": _at(self.today - timedelta(days=HISTORY_DAYS + rng.randint(1, 900)), 9,
                                  rng.randrange(60)),
                "reminders_stopped": False, "stop_reason": None, "stop_until": None, "stopped_at": None,
                "stopped_by_id": None,
            }
            if n in stopped:
                account.stopped_on = self.today - timedelta(days=rng.randint(3, 150))
                until = self.today + timedelta(days=rng.randint(10, 90)) if rng.random() < 0.4 else None
                reason = rng.choice(CUSTOMER_STOP_REASONS[account.language])
                stopped_at = _at(account.stopped_on, rng.randint(8, 18), rng.randrange(60))
                row.update(reminders_stopped=True, stop_reason=reason, stop_until=until, stopped_at=stopped_at,
                           stopped_by_id=self.actors.finance)
                detail = (say("Reminders stopped for customer until %(until)s", until=until) if until
                          else say("Reminders stopped for customer"))
                audits.append(self._audit(stopped_at, self.actors.finance, customer_id, None, "reminders.stopped",
                                          detail, reason))
            customers.append(row)
            if rng.random() < 0.6:
                for _ in range(rng.choices((1, 2, 3), weights=(55, 30, 15))[0]):
                    contacts.append(self._contact(rng, contact_id, account, domain, phone))
                    contact_id += 1
        for start in range(0, len(customers), CHUNK):
            yield "customers", customers[start:start + CHUNK]
        for start in range(0, len(contacts), CHUNK):
            yield "contacts", contacts[start:start + CHUNK]
        yield "audit_events", audits

    @staticmethod
    def _unique(seen: set[str], rng: random.Random, make: Callable[[random.Random], str]) -> str:
        for _ in range(8):
            name = make(rng)
            if name not in seen:
                break
        else:  # a big demo runs out of combinations: number the namesakes like a register would
            base, n = name, 2
            while name in seen:
                name, n = f"{base} ({n})", n + 1
        seen.add(name)
        return name

    @staticmethod
    def _french_name(rng: random.Random) -> str:
        pattern = rng.random()
        if pattern < 0.35:
            name = f"{rng.choice(FR_TRADES)} {rng.choice(FR_SURNAMES)}"
        elif pattern < 0.5:
            name = f"{rng.choice(FR_SURNAMES)} {rng.choice(('& Fils', 'Frères', 'et Associés', '& Cie'))}"
        elif pattern < 0.65:
            name = f"{rng.choice(FR_TRADES)} {rng.choice(FR_PLACES)}"
        elif pattern < 0.8:
            name = f"{rng.choice(FR_SURNAMES)}-{rng.choice(FR_SURNAMES)} {rng.choice(FR_TRADES)}"
        else:
            name = rng.choice(FR_BRAND_HEADS) + rng.choice(FR_BRAND_TAILS)
        form = rng.choice(FR_FORMS)
        return f"{name} {form}" if form else name

    @staticmethod
    def _english_name(rng: random.Random, forms, places) -> str:
        pattern = rng.random()
        if pattern < 0.3:
            name = f"{rng.choice(EN_SURNAMES)} & Sons"
        elif pattern < 0.6:
            name = f"{rng.choice(EN_SURNAMES)} {rng.choice(EN_TRADES)}"
        elif pattern < 0.85:
            name = f"{rng.choice(places)} {rng.choice(EN_TRADES)}"
        else:
            name = f"{rng.choice(EN_SURNAMES)} & {rng.choice(EN_SURNAMES)}"
        return f"{name} {rng.choice(forms)}"

    @staticmethod
    def _english_address(rng: random.Random, country: str, cities, streets) -> tuple[str, str]:
        city, districts = rng.choice(cities)
        street = f"{rng.randint(1, 240)} {rng.choice(streets)}"
        if country == "United Kingdom":
            letters = rng.choice(UK_POSTCODE_LETTERS) + rng.choice(UK_POSTCODE_LETTERS)
            postcode = f"{rng.choice(districts)} {rng.randint(1, 9)}{letters}"
            # Ofcom's drama numbers: 020 7946 0xxx in London, 0113/0161/0121… 496 0xxx elsewhere.
            phone = (f"+44 20 7946 0{rng.randrange(1000):03d}" if city == "London"
                     else f"+44 {rng.choice(('113', '161', '121', '131', '117'))} 496 0{rng.randrange(1000):03d}")
            return f"{street}\n{city} {postcode}\nUnited Kingdom", phone
        if country == "Ireland":
            code = "".join(rng.choice("ACDEFHKNPRTVWXY0123456789") for _ in range(4))
            return f"{street}\n{city} {rng.choice(districts)} {code}\nIreland", f"+353 1 555 {rng.randrange(10000):04d}"
        zip_code = f"{rng.choice(districts)}{rng.randrange(100):02d}"
        phone = f"+1 {rng.randint(201, 989)} 555-01{rng.randrange(100):02d}"  # 555-0100…0199: fiction
        return f"{street}\n{city} {zip_code}\nUnited States", phone

    @staticmethod
    def _contact(rng: random.Random, contact_id: int, account: _Account, domain: str, phone: str) -> dict:
        french = account.language == "fr"
        first = rng.choice(FR_FIRST_NAMES if french else EN_FIRST_NAMES)
        last = rng.choice(FR_SURNAMES if french else EN_SURNAMES)
        return {
            "id": contact_id, "customer_id": account.id, "name": f"{first} {last}",
            "position": rng.choice(FR_POSITIONS if french else EN_POSITIONS),
            "email": f"{_slug(first)}.{_slug(last)}@{domain}" if rng.random() < 0.85 else None,
            "phone": f"{phone[:-2]}{rng.randrange(100):02d}" if rng.random() < 0.6 else None,
            "billing": False,  # reminders go to the customer's own addresses, as the bench's bare side sends them
        }

    def _audit(self, at: datetime, actor_id: int, customer_id: int, entry_id: int | None, action: str,
               detail: Said, reason: str | None) -> dict:
        # As the app writes it: the English text and the sentence each reader reads in their language.
        english, sentence = kept(detail)
        row = {"id": self._audit_id, "at": at, "actor_id": actor_id, "customer_id": customer_id,
               "entry_id": entry_id, "action": action, "detail": english, "detail_i18n": sentence, "reason": reason}
        self._audit_id += 1
        return row

    # entries and payments ----------------------------------------------------------------

    def _dates_of_reminders(self, due: date) -> tuple[date, ...]:
        dates = self._reminder_dates.get(due)
        if dates is None:
            dates = self._reminder_dates[due] = tuple(_working_day(due + timedelta(days=d)) for d in REMINDER_OFFSETS)
        return dates

    def _issue_days(self) -> list[tuple[date, int]]:
        """How many entries each day of the history gets: working days, month-end peaks and a
        business that grew a little over the period."""
        days = [self.today - timedelta(days=k) for k in range(HISTORY_DAYS - 1, -1, -1)]
        weights = []
        for i, day in enumerate(days):
            weight = (1.0, 1.0, 1.0, 1.0, 1.0, 0.08, 0.02)[day.weekday()]
            if (day + timedelta(days=3)).month != day.month:
                weight *= 1.8
            weights.append(weight * (0.75 + 0.5 * i / len(days)))
        return list(zip(days, _largest_remainder(self.plan.entries, weights)))

    def _ledger(self) -> Iterator[tuple[str, list[dict]]]:
        """Entries day by day, so numbers follow issue dates; each with its payments and flags."""
        rng = self._rng["ledger"]
        accounts = self._accounts
        activity = [min(60.0, rng.paretovariate(1.3)) for _ in accounts]  # a few big accounts, many small
        cum_activity = list(itertools.accumulate(activity))
        indexes = range(len(accounts))
        entry_id = self.first_ids["entries"]
        counters: dict[tuple[str, int], int] = {}
        entries = []
        for day, count in self._issue_days():
            if not count:
                continue
            for index in rng.choices(indexes, cum_weights=cum_activity, k=count):
                account = accounts[index]
                credit = rng.random() < CREDIT_NOTE_SHARE
                prefix = "CN" if credit else "INV"
                counters[prefix, day.year] = number = counters.get((prefix, day.year), 0) + 1
                row = self._entry(rng, account, entry_id, f"{prefix}-{day.year}-{number:06d}", day, credit)
                if credit:
                    self._offset_credit_note(rng, row)
                else:
                    self._follow_invoice(rng, account, row)
                entries.append(row)
                entry_id += 1
                if len(entries) >= CHUNK:
                    yield from self._ledger_chunk(entries)
                    entries = []
        yield from self._ledger_chunk(entries)
        prints_rng = self._rng["prints"]
        self.invoice_prints = [self._invoice_print(prints_rng, account, row)
                               for _, account, row in sorted(self._print_pool, key=lambda item: item[0])]

    def _ledger_chunk(self, entries: list[dict]) -> Iterator[tuple[str, list[dict]]]:
        yield "entries", entries
        yield "payments", self._payments
        yield "audit_events", self._audits
        self._payments, self._audits = [], []

    def _entry(self, rng: random.Random, c: _Account, entry_id: int, number: str, day: date, credit: bool) -> dict:
        # A skewed amount: the customer's size times a log-normal spread, plus VAT.
        net = int(c.size * rng.lognormvariate(0, 0.6) * (18_000 if credit else 60_000)) + 1_000
        if rng.random() < 0.3:
            net -= net % 100  # round sums for subscriptions and flat fees
        amount = net + net * c.vat // 100
        return {
            "id": entry_id, "customer_id": c.id, "number": number, "kind": CREDIT_NOTE if credit else INVOICE,
            "issue_date": day, "due_date": day if credit else day + timedelta(days=c.terms),
            "amount_cents": amount, "open_cents": amount, "currency": c.currency, "is_open": True,
            "reminder_level": 0, "last_reminder_on": None,
            "in_collection": False, "collection_marked_at": None, "collection_marked_by_id": None,
            "collection_reason": None, "disputed": False, "disputed_at": None, "disputed_by_id": None,
            "dispute_reason": None, "reminders_stopped": False, "stop_reason": None, "stop_until": None,
            "stopped_at": None, "stopped_by_id": None, "promised_until": None, "scheduled": False,
        }

    def _pay(self, row: dict, paid_on: date, cents: int, method: str) -> tuple[date, int]:
        """A bank transfer (or an offset), imported from the statement the next morning."""
        stamp, imported_at = self._bank_days.get(paid_on) or self._bank_days.setdefault(
            paid_on, (paid_on.strftime("%Y%m%d"), _at(paid_on + timedelta(days=1), 6, 30)))
        self._payments.append({
            "id": self._payment_id, "entry_id": row["id"], "paid_on": paid_on, "amount_cents": cents,
            "reference": f"{method} {stamp} {self._payment_id:07d}", "created_at": imported_at,
        })
        self._payment_id += 1
        open_cents = row["open_cents"] - cents
        row.update(open_cents=open_cents, is_open=open_cents != 0)
        return paid_on, cents

    def _offset_credit_note(self, rng: random.Random, row: dict) -> None:
        # Most credit notes are soon offset against an invoice; recent ones stay open.
        offset_on = _working_day(row["issue_date"] + timedelta(days=rng.randint(5, 60)))
        if offset_on <= self.today and rng.random() < 0.97:
            self._pay(row, offset_on, row["amount_cents"], "OFFSET")

    def _follow_invoice(self, rng: random.Random, c: _Account, row: dict) -> None:
        """What happened to an invoice until today: paid (maybe in two transfers), or still open
        with perhaps a part paid, a dispute, a collection mark or a stop; and the reminders it got."""
        today, day, due, amount = self.today, row["issue_date"], row["due_date"], row["amount_cents"]
        habits, method = c.habits, TRANSFER_METHODS[c.currency]
        paid_on = None
        if rng.random() >= habits["never"]:
            delay = timedelta(days=round(rng.gauss(habits["mean"], habits["spread"])))
            paid_on = _working_day(max(day + timedelta(days=1), due + delay))
        horizon = today + timedelta(days=1)  # reminders go out before this day
        if c.stopped_on is not None:
            horizon = min(horizon, c.stopped_on)
        partial = None
        if paid_on is not None and paid_on <= today:
            horizon = min(horizon, paid_on)
            span = (paid_on - day).days
            if span >= 4 and rng.random() < INSTALMENT_SHARE:
                first_on = _working_day(day + timedelta(days=rng.randint(1, span - 3)))
                self._pay(row, first_on, amount * rng.randint(30, 70) // 100, method)
            self._pay(row, paid_on, row["open_cents"], method)
        else:
            overdue_days = (today - due).days
            if overdue_days > 0 and rng.random() < habits["partial"]:
                start = max(day + timedelta(days=1), due - timedelta(days=10))
                partial_on = start + timedelta(days=rng.randint(0, max(0, (today - start).days - 1)))
                partial = self._pay(row, partial_on, amount * rng.randint(15, 70) // 100, method)
            horizon = min(horizon, self._flag_open_invoice(rng, c, row, overdue_days))
        if due < today:
            dates = self._dates_of_reminders(due)
            level = bisect.bisect_left(dates, horizon)
            if level:
                row.update(reminder_level=level, last_reminder_on=dates[level - 1])
                if row["is_open"]:
                    c.reminded.append(_Reminded(row["id"], row["number"], due, level, amount, partial))
        if row["is_open"] and (today - day).days <= 120:
            self._offer_for_print(c, row)

    def _flag_open_invoice(self, rng: random.Random, c: _Account, row: dict, overdue_days: int) -> date:
        """Dispute, collection mark or stop on an open invoice, each with its history event.
        Returns the day reminders stopped going out (tomorrow when they did not)."""
        today, actors, habits, number = self.today, self.actors, c.habits, row["number"]
        horizon = today + timedelta(days=1)
        if rng.random() < habits["dispute"] or self._shown["dispute"] < SHOWCASE:
            self._shown["dispute"] += 1
            since_issue = (today - row["issue_date"]).days
            disputed_on = min(today, row["issue_date"] + timedelta(days=rng.randint(2, max(2, since_issue))))
            horizon = disputed_on  # reminders leave disputed entries alone
            reason = rng.choice(DISPUTE_REASONS[c.language])
            at = _at(disputed_on, rng.randint(8, 18), rng.randrange(60))
            row.update(disputed=True, disputed_at=at, disputed_by_id=actors.finance, dispute_reason=reason)
            self._audits.append(self._audit(at, actors.finance, c.id, row["id"], "dispute.opened",
                                            say("Entry %(number)s disputed", number=number), reason))
        elif overdue_days > 120 and (rng.random() < habits["collection"] or self._shown["collection"] < SHOWCASE):
            self._shown["collection"] += 1
            marked_on = row["due_date"] + timedelta(days=91 + rng.randint(14, overdue_days - 91))
            reason = rng.choice(COLLECTION_REASONS)
            at = _at(marked_on, rng.randint(8, 18), rng.randrange(60))
            row.update(in_collection=True, collection_marked_at=at, collection_marked_by_id=actors.admin,
                       collection_reason=reason)
            self._audits.append(self._audit(at, actors.admin, c.id, row["id"], "collection.marked",
                                            say("Entry %(number)s marked as in collection", number=number), reason))
        elif overdue_days > 0 and (rng.random() < ENTRY_STOP_SHARE or self._shown["stop"] < SHOWCASE):
            self._shown["stop"] += 1
            stopped_on = row["due_date"] + timedelta(days=rng.randint(1, overdue_days))
            horizon = stopped_on
            until = today + timedelta(days=rng.randint(7, 60)) if rng.random() < 0.4 else None
            reason = rng.choice(STOP_REASONS[c.language])
            at = _at(stopped_on, rng.randint(8, 18), rng.randrange(60))
            row.update(reminders_stopped=True, stop_reason=reason, stop_until=until, stopped_at=at,
                       stopped_by_id=actors.finance)
            self._audits.append(self._audit(
                at, actors.finance, c.id, row["id"], "reminders.stopped",
                say("Reminders stopped for entry %(number)s until %(until)s", number=number, until=until) if until
                else say("Reminders stopped for entry %(number)s", number=number), reason))
        return horizon

    def _offer_for_print(self, c: _Account, row: dict) -> None:
        """Reservoir sampling: every recent open invoice has the same chance to get a PDF."""
        self._print_candidates += 1
        if len(self._print_pool) < self.plan.invoice_pdfs:
            self._print_pool.append((row["id"], c, row))
            return
        slot = self._rng["prints"].randrange(self._print_candidates)
        if slot < self.plan.invoice_pdfs:
            self._print_pool[slot] = (row["id"], c, row)

    def _invoice_print(self, rng: random.Random, c: _Account, row: dict) -> InvoicePrint:
        total = row["amount_cents"]
        net = total * 100 // (100 + c.vat) if c.vat else total
        # Split the net amount into a few lines whose quantities divide them exactly.
        parts = rng.randint(1, min(4, max(1, net // 1_000)))
        cuts = sorted(rng.sample(range(1, net), parts - 1)) if parts > 1 else []
        amounts = [b - a for a, b in zip([0, *cuts], [*cuts, net])]
        lines = []
        for line_cents, labels in zip(amounts, rng.sample(PRODUCTS, len(amounts))):
            quantities = rng.sample((2, 3, 4, 5, 6, 10, 12), 7)
            quantity = next((q for q in quantities if line_cents % q == 0 and rng.random() < 0.5), 1)
            lines.append({"description": labels[c.language], "quantity": quantity,
                          "unit_cents": line_cents // quantity, "amount_cents": line_cents})
        return InvoicePrint(
            entry_id=row["id"], number=row["number"], language=c.language, issue_date=row["issue_date"],
            due_date=row["due_date"], currency=c.currency, total_cents=total, net_cents=net, vat_cents=total - net,
            vat_rate=c.vat, lines=tuple(lines), terms_days=c.terms, seller=SELLER,
            customer={"name": c.name, "address": c.address, "registration_number": c.registration_number,
                      "country": c.country, "email": c.emails[0] if c.emails else None},
        )

    # reminder history --------------------------------------------------------------------

    def _reminder_history(self) -> Iterator[tuple[str, list[dict]]]:
        """The latest reminder runs of each customer with overdue entries: one message per run,
        covering the entries whose level went up that day, with their open amount then."""
        rng = self._rng["history"]
        activity_id = self.first_ids["reminder_activities"]
        activities, covered = [], []
        for c in self._accounts:
            if not c.reminded:
                continue
            runs: dict[date, list[tuple[int, _Reminded]]] = {}
            for reminded in c.reminded:
                for level, day in enumerate(self._dates_of_reminders(reminded.due)[:reminded.level], start=1):
                    runs.setdefault(day, []).append((level, reminded))
            for day in sorted(runs)[-MAX_ACTIVITIES_PER_CUSTOMER:]:
                lines = sorted(runs[day], key=lambda item: (-item[0], item[1].entry_id))[:MAX_COVERED_PER_ACTIVITY]
                level = lines[0][0]
                rows = []
                for _, reminded in lines:
                    part_paid = reminded.partial[1] if reminded.partial and reminded.partial[0] <= day else 0
                    rows.append({"activity_id": activity_id, "entry_id": reminded.entry_id,
                                 "open_cents": reminded.amount_cents - part_paid})
                letter = not c.emails or (level == MAX_LEVEL and rng.random() < 0.5)
                manual = rng.random() < 0.15
                subject, body = self._reminder_text(
                    c, level, [(reminded, row["open_cents"]) for (_, reminded), row in zip(lines, rows)])
                activities.append({
                    "id": activity_id, "customer_id": c.id,
                    "sent_at": _at(day, 9 if manual else 7, rng.randrange(60)),
                    "channel": "letter" if letter else "email", "level": level, "sender": SELLER["email"],
                    "recipient": (c.name + ", " + c.address.replace("\n", ", ")) if letter else ", ".join(c.emails),
                    "subject": subject, "body": body,
                    "sent_by_id": self.actors.finance if manual else None,
                })
                covered.extend(rows)
                activity_id += 1
            if len(covered) >= CHUNK:
                yield "reminder_activities", activities
                yield "reminder_entries", covered
                activities, covered = [], []
        yield "reminder_activities", activities
        yield "reminder_entries", covered

    @staticmethod
    def _reminder_text(c: _Account, level: int, lines: list[tuple[_Reminded, int]]) -> tuple[str, str]:
        """Subject and body of a reminder listing entries with their open amounts."""
        fr = c.language == "fr"
        total = sum(open_cents for _, open_cents in lines)
        listing = "\n".join(
            f"  {reminded.number}   {'échéance' if fr else 'due'} {plain_date(reminded.due, c.language)}   "
            f"{plain_money(open_cents, c.currency, c.language)}" for reminded, open_cents in lines)
        money = plain_money(total, c.currency, c.language)
        subject = f"{LEVEL_SUBJECTS[c.language][level]} – {c.name}"
        if fr:
            firm = ("\n\nSans règlement sous huit jours, le dossier sera transmis à notre service contentieux."
                    if level >= 4 else "")
            body = (f"Madame, Monsieur,\n\nSauf erreur de notre part, les factures suivantes restent impayées :\n\n"
                    f"{listing}\n\nTotal restant dû : {money}\n\nMerci de procéder au règlement dans les meilleurs "
                    f"délais, ou de nous indiquer ce qui bloque le paiement.{firm}\n\nCordialement,\n"
                    f"Service comptabilité clients\n{SELLER['name']}")
        else:
            firm = ("\n\nUnless payment reaches us within eight days, the account will be passed to our "
                    "collection department." if level >= 4 else "")
            body = (f"Dear Sir or Madam,\n\nAccording to our records the following invoices are still unpaid:\n\n"
                    f"{listing}\n\nTotal outstanding: {money}\n\nPlease arrange payment at your earliest "
                    f"convenience, or let us know if anything is holding it up.{firm}\n\nKind regards,\n"
                    f"Credit Control\n{SELLER['name']}")
        return subject, body


# --- writing into the database -----------------------------------------------------------

class DemoError(RuntimeError):
    """The demo cannot be loaded here; the message says why."""


TABLES = {model.__tablename__: model.__table__
          for model in (Customer, Contact, Entry, Payment, AuditEvent, ReminderActivity, ReminderEntry, Attachment)}


@dataclass(frozen=True)
class DemoResult:
    counts: dict[str, int]
    login: tuple[str, str]
    documents: int


def has_customers(session: Session) -> bool:
    return session.scalar(select(Customer.id).limit(1)) is not None


def demo_users(session: Session) -> DemoActors:
    """The three demo users, created when missing (an existing one keeps its password)."""
    ids = {}
    for email, role, name in DEMO_USERS:
        user = find_user(session, email) or create_user(session, email, DEMO_LOGIN[1], role, name=name)
        session.flush()
        ids[role] = user.id
    return DemoActors(**ids)


CASE_STATUS_CYCLE = ("open", "sent_to_agency", "amicable", "legal")


def _open_collection_cases(connection, actors: DemoActors) -> int:
    """One collection case per customer with entries in collection, in a status that depends on
    the customer only (deterministic), so the Collection page shows every stage."""
    cases, entries = CollectionCase.__table__, Entry.__table__
    rows = connection.execute(
        select(entries.c.customer_id, func.min(entries.c.collection_marked_at))
        .where(entries.c.in_collection.is_(True))
        .group_by(entries.c.customer_id)
        .order_by(entries.c.customer_id)
    ).all()
    for customer_id, opened_at in rows:
        status = CASE_STATUS_CYCLE[customer_id % len(CASE_STATUS_CYCLE)]
        case_id = connection.execute(
            insert(cases).values(customer_id=customer_id, status=status, opened_at=opened_at,
                                 opened_by_id=actors.admin, status_changed_at=opened_at,
                                 sent_at=opened_at if status == "sent_to_agency" else None)
            .returning(cases.c.id)
        ).scalar_one()
        connection.execute(entries.update()
                           .where(entries.c.customer_id == customer_id, entries.c.in_collection.is_(True))
                           .values(collection_case_id=case_id))
    return len(rows)


def _open_disputes(connection) -> int:
    """A dispute for each disputed entry (an entry is disputed exactly while a dispute holds it),
    its reason "other" with what the customer said as the note, opened when the entry was disputed."""
    entries, disputes = Entry.__table__, Dispute.__table__
    rows = connection.execute(select(entries.c.id, entries.c.customer_id, entries.c.disputed_at,
                                     entries.c.disputed_by_id, entries.c.dispute_reason)
                              .where(entries.c.disputed.is_(True)).order_by(entries.c.id)).all()
    for entry_id, customer_id, at, by, reason in rows:
        dispute_id = connection.execute(
            insert(disputes).values(customer_id=customer_id, reason="other", note=reason or "", status="open",
                                    opened_at=at, opened_by_id=by, last_activity_at=at).returning(disputes.c.id)
        ).scalar_one()
        connection.execute(insert(DisputeEntry.__table__).values(dispute_id=dispute_id, entry_id=entry_id))
        connection.execute(insert(DisputeEvent.__table__).values(dispute_id=dispute_id, at=at, actor_id=by,
                                                                 kind="opened", text=reason or ""))
    return len(rows)


PROMISE_EVERY = 20  # one customer in 20 made a promise to pay …
SCHEDULE_EVERY = 53  # … one in 53 pays under a schedule


def _customers_said(connection, actors: DemoActors, today: date) -> tuple[int, int]:
    """Promises to pay and payment schedules, chosen by customer id (deterministic): a promise on the
    oldest overdue invoice — open (due in a week, reminders paused), or broken last month (the
    customer's reliability) —, and a running schedule of 3 monthly instalments over two overdue
    invoices. Only on invoices that nothing else holds (disputed, in collection)."""
    entries = Entry.__table__
    free = (select(entries.c.customer_id, entries.c.id, entries.c.open_cents, entries.c.currency)
            .where(entries.c.is_open.is_(True), entries.c.kind == INVOICE, entries.c.due_date < today,
                   entries.c.disputed.is_(False), entries.c.in_collection.is_(False))
            .order_by(entries.c.customer_id, entries.c.due_date, entries.c.id))
    oldest: dict[int, list[tuple[int, int, str]]] = {}
    for customer_id, entry_id, open_cents, currency in connection.execute(free.where(
            (entries.c.customer_id % PROMISE_EVERY == 0) | (entries.c.customer_id % SCHEDULE_EVERY == 0))):
        found = oldest.setdefault(customer_id, [])
        if len(found) < 2:
            found.append((entry_id, open_cents, currency))
    now = datetime.combine(today, time(9, 30))
    promised, scheduled = 0, 0
    for customer_id, found in sorted(oldest.items()):
        if customer_id % SCHEDULE_EVERY == 0 and len(found) == 2 and found[0][2] == found[1][2]:
            total = sum(open_cents for _, open_cents, _ in found)
            schedule_id = connection.execute(insert(PaymentSchedule.__table__).values(
                customer_id=customer_id, currency=found[0][2], total_cents=total, open_at_start_cents=total,
                frequency="monthly", grace_days=3, broken_after=2, waive_fees=True, note="Agreed on the phone",
                created_by_id=actors.finance, created_at=now - timedelta(days=3), status="running", paid_cents=0)
                .returning(PaymentSchedule.__table__.c.id)).scalar_one()
            base, rest = divmod(total, 3)
            connection.execute(insert(Instalment.__table__), [
                {"schedule_id": schedule_id, "number": n + 1, "due_on": today + timedelta(days=10 + 30 * n),
                 "amount_cents": base + (1 if n < rest else 0), "paid_cents": 0, "status": "due"} for n in range(3)])
            connection.execute(insert(ScheduleEntry.__table__), [
                {"schedule_id": schedule_id, "entry_id": entry_id} for entry_id, _, _ in found])
            connection.execute(entries.update().where(entries.c.id.in_([e for e, _, _ in found])).values(scheduled=True))
            scheduled += 1
            continue
        if customer_id % PROMISE_EVERY:
            continue
        entry_id, open_cents, currency = found[0]
        status = ("open", "open", "broken")[customer_id // PROMISE_EVERY % 3]
        promised_on = today + timedelta(days=7) if status == "open" else today - timedelta(days=30)
        promise_id = connection.execute(insert(Promise.__table__).values(
            customer_id=customer_id, amount_cents=open_cents, currency=currency, promised_on=promised_on,
            grace_days=3, channel="phone", note="", recorded_by_id=actors.finance,
            recorded_at=now - timedelta(days=10 if status == "open" else 45), open_at_start_cents=open_cents,
            status=status, paid_cents=0, settled_on=None if status == "open" else promised_on + timedelta(days=4))
            .returning(Promise.__table__.c.id)).scalar_one()
        connection.execute(insert(PromiseEntry.__table__).values(promise_id=promise_id, entry_id=entry_id))
        if status == "open":
            connection.execute(entries.update().where(entries.c.id == entry_id)
                               .values(promised_until=promised_on + timedelta(days=3)))
        promised += 1
    return promised, scheduled


NOTICE_EVERY = 97  # one customer in 97 got a formal notice that expired unpaid…
MAX_NOTICES = 250  # … up to 250: each is issued through the domain (~50 ms); 2,000 added 100 s to a 10M demo


def _formal_notices(session: Session, actors: DemoActors, today: date) -> tuple[int, int]:
    """Formal notices issued three weeks ago (interest and indemnity claimed, by letter) whose deadline
    passed unpaid, then the day's debt-collection rule: their invoices show under /debt-collection
    (every other customer on transfer option 20: the Automatic transfer tab; the rest on the company's
    30: Manual). Through the domain, as a user and the daily run would do it; only invoices nothing holds."""
    from domain import debt_collection
    from domain.reminders import notices

    actor = session.get(User, actors.finance)
    issued = today - timedelta(days=21)
    entries = Entry.__table__
    # Customers with an invoice long overdue that nothing holds, spread over the ledger.
    candidates = list(session.scalars(
        select(entries.c.customer_id).distinct()
        .where(entries.c.is_open.is_(True), entries.c.kind == INVOICE, entries.c.due_date < issued - timedelta(days=30),
               entries.c.disputed.is_(False), entries.c.in_collection.is_(False), entries.c.scheduled.is_(False),
               entries.c.promised_until.is_(None), entries.c.reminders_stopped.is_(False))
        .order_by(entries.c.customer_id)))
    customers = session.scalar(select(func.count()).select_from(Customer))
    wanted = min(MAX_NOTICES, max(1, customers // NOTICE_EVERY)) if candidates else 0
    chosen = candidates[::max(1, len(candidates) // wanted)][:wanted] if wanted else []
    count = 0
    for customer in session.scalars(select(Customer).where(Customer.id.in_(chosen)).order_by(Customer.id)):
        found = notices.draft(session, customer, None, issued)
        lines = [line for line in found.lines if line.entry.due_date < issued - timedelta(days=30)][:3]
        if found.problems or not lines or len({line.entry.currency for line in lines}) > 1:
            continue
        if count % 2:
            customer.transfer_option = 20  # its claims under the Automatic transfer tab, the others under Manual
        notice, _ = notices.issue(session, actor, customer, [line.entry.id for line in lines], channel="letter",
                                  claim=not found.charge_problems, token=f"demo-{customer.id}",
                                  deadline=issued + timedelta(days=8), today=issued)
        notice.registered_tracking, notice.registered_on = f"1A {100000 + customer.id:06d} {customer.id % 97:02d}", issued
        count += 1
    session.flush()
    report = debt_collection.run(session, today)
    return count, len(report.listed)


def load_demo(
    session: Session,
    plan: DemoPlan,
    *,
    attachment_dir: str | Path,
    render_invoice: Callable[[InvoicePrint], bytes],
    progress: Callable[[str], None] = lambda message: None,
    today: date | None = None,
) -> DemoResult:
    """Fill an empty database with the demo ledger and commit. Raises DemoError when there are
    customers already: the demo never mixes with real data."""
    today = today or clock.today()
    if has_customers(session):
        raise DemoError("The database already has customers; the demo only loads into an empty database.")
    written: list[Path] = []
    try:
        actors = demo_users(session)
        connection = session.connection()
        # Ids are given by the generator (rows refer to each other before any insert), after any
        # rows already there (users' history events may exist before customers do).
        first_ids = {name: (connection.scalar(select(func.max(TABLES[name].c.id))) or 0) + 1
                     for name in ("customers", "contacts", "entries", "payments", "reminder_activities",
                                  "audit_events")}
        ledger = DemoLedger(plan, today, actors, first_ids)
        writer = _RowWriter(connection)
        inserted: dict[str, int] = {}
        reported = set()
        for table, count, prepared in _ahead((table, len(rows), writer.prepare(TABLES[table], rows))
                                             for table, rows in ledger.batches()):
            writer.write(prepared)
            done = inserted[table] = inserted.get(table, 0) + count
            if table == "customers" and done == plan.customers:
                progress(f"Customers: {done:,} (with contacts and addresses)")
            elif table == "entries" and plan.entries:
                step = done * 4 // plan.entries  # a line at each quarter
                if step not in reported:
                    reported.add(step)
                    progress(f"Entries: {done:,} / {plan.entries:,} with payments and flags")
        progress(f"Reminder history: {inserted.get('reminder_activities', 0):,} reminders sent, "
                 f"{inserted.get('audit_events', 0):,} history events")
        if connection.dialect.name == "postgresql":
            # Ids were given explicitly: move the sequences past them before anything below inserts
            # rows of its own (a formal notice's history event…).
            for name in first_ids:
                connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
            # Statistics of the copied rows before the steps below query them: planned for empty tables, a
            # formal notice's payments read took 0.4 s at 10M entries (a scan), the 2,000 notices half an hour.
            connection.execute(text("ANALYZE " + ", ".join(sorted(TABLES))))
        cases = _open_collection_cases(connection, actors)
        if cases:
            progress(f"Collection cases: {cases:,} (entries in collection, grouped per customer)")
        disputed = _open_disputes(connection)
        if disputed:
            progress(f"Disputes: {disputed:,} (one per disputed entry)")
        promised, scheduled = _customers_said(connection, actors, today)
        if promised or scheduled:
            progress(f"Promises to pay: {promised:,}; payment schedules: {scheduled:,}")
        refresh_summaries(session, None, today)
        progress("Summaries: aged balances computed for every customer")
        noticed, claims = _formal_notices(session, actors, today)
        if noticed:
            progress(f"Formal notices: {noticed:,} expired unpaid; {claims:,} invoices ready for debt collection")
        documents = _store_invoice_pdfs(connection, ledger.invoice_prints, Path(attachment_dir), render_invoice, written)
        if documents:
            progress(f"Invoice PDFs: {documents}")
        if connection.dialect.name == "postgresql":
            # Fresh statistics of every table (the claims, notices and cases written by the steps above too)
            # spare the first pages a plan made for empty tables.
            connection.execute(text("ANALYZE"))
        session.commit()
    except BaseException:
        session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return DemoResult(counts=inserted, login=DEMO_LOGIN, documents=documents)


class _RowWriter:
    """Executemany of the Core `insert()` for chunks of rows, prepared ahead of the write.

    The statement is compiled once per table and the values are prepared column by column with
    the dialect's own bind processors: SQLAlchemy's per-row parameter handling costs more than
    the database's insert itself at a million rows. PostgreSQL receives the rows through COPY.
    """

    def __init__(self, connection):
        self.connection = connection
        self.dialect = connection.dialect
        self._statements: dict[tuple, tuple[str, list[str]]] = {}

    def prepare(self, table, rows: list[dict]) -> tuple[str, list]:
        """Pure Python work, safe to run in the generator's thread."""
        names = list(rows[0])
        if self.dialect.name == "postgresql":
            getter = itemgetter(*names)
            return f"COPY {table.name} ({', '.join(names)}) FROM STDIN", list(map(getter, rows))
        key = (table.name, tuple(names))
        if key not in self._statements:
            compiled = insert(table).compile(dialect=self.dialect, column_keys=names)
            self._statements[key] = str(compiled), list(compiled.positiontup) if compiled.positional else names
        sql, order = self._statements[key]
        columns = list(zip(*map(itemgetter(*order), rows)))
        for position, name in enumerate(order):
            process = table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if process is not None:  # dates, flags and None repeat: prepare each distinct value once
                distinct = {value: process(value) for value in set(columns[position])}
                columns[position] = map(distinct.__getitem__, columns[position])
        values = list(zip(*columns))
        return sql, values if self.dialect.positional else [dict(zip(order, row)) for row in values]

    def write(self, prepared: tuple[str, list]) -> None:
        sql, values = prepared
        if sql.startswith("COPY"):
            with self.connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
                for row in values:
                    copy.write_row(row)
        else:
            self.connection.exec_driver_sql(sql, values)


class _GeneratorFailed:
    def __init__(self, error: BaseException):
        self.error = error


def _ahead(items: Iterator, depth: int = 4) -> Iterator:
    """Run `items` in a thread a few steps ahead of the consumer. Generating rows is Python,
    while SQLite's insert and PostgreSQL's COPY mostly wait outside the GIL: two cores work."""
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.2)
                return True
            except Full:
                continue
        return False

    def produce():
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, which raises it
            put(_GeneratorFailed(error))
            return
        put(end)

    thread = threading.Thread(target=produce, name="demo-generator", daemon=True)
    thread.start()
    try:
        while (item := queue.get()) is not end:
            if isinstance(item, _GeneratorFailed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def _store_invoice_pdfs(connection, prints: list[InvoicePrint], directory: Path,
                        render: Callable[[InvoicePrint], bytes], written: list[Path]) -> int:
    if not prints:
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for invoice in prints:
        content = render(invoice)
        storage_name = f"{uuid.uuid4().hex}.pdf"  # never a customer-chosen name on disk
        path = directory / storage_name
        path.write_bytes(content)
        written.append(path)
        rows.append({"entry_id": invoice.entry_id, "filename": f"{invoice.number}.pdf", "storage_name": storage_name,
                     "content_type": "application/pdf", "size": len(content),
                     "uploaded_at": _at(invoice.issue_date, 18, 0)})
    connection.execute(insert(TABLES["attachments"]), rows)
    return len(rows)
