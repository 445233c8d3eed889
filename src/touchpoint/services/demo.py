"""Realistic demo data: a sales team's customers, people, touchpoints, promises and deals.

The app offers it on first start (:func:`is_empty`), ``touchpoint demo`` makes it, and
the benchmarks run on it. The words a manager reads on a screenshot (names with
accents, notes in the reps' own words, satisfaction that falls for some customers,
customers going quiet, promises kept and broken) are all here.

Speed: a million interactions cannot go through the ORM one by one, so rows are
built as plain tuples and written with executemany in one write transaction. For
each record it writes exactly what the normal write path writes: the row, its
search document (the same text as :func:`storage.search_index.document`), its
identity keys (as :func:`storage.identity.keys_of`) and one insert row in the change
log with the same field values as :mod:`storage.tracking`.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import JSON, Boolean, Connection, func, inspect, select

from touchpoint.domain import metrics
from touchpoint.domain.values import display_phone, name_key, normalised_email_key, website_host
from touchpoint.errors import ValidationError
from touchpoint.storage import search_index
from touchpoint.storage.models import (
    Change,
    Contact,
    Customer,
    CustomFieldDef,
    Deal,
    FollowUp,
    Interaction,
    Record,
)
from touchpoint.storage.types import DecimalText, ISODate, UTCDateTime, to_utc_text
from touchpoint.storage.workspace import Workspace

SIZES: dict[str, dict[str, int]] = {
    "S": dict(customers=2_000, contacts=6_000, interactions=50_000, followups=10_000, reps=1),
    "L": dict(
        customers=100_000, contacts=300_000, interactions=1_000_000, followups=200_000, reps=50
    ),
}

TEAM_DOMAIN = "northwind-sales.example"
BATCH = 5_000  # records per executemany round


@dataclass(frozen=True)
class DemoReport:
    counts: dict[str, int]  # records made per entity
    seconds: float


def is_empty(ws: Workspace) -> bool:
    """No live customer yet: the app offers the demo data at first start."""
    with ws.read() as session:
        found = session.execute(
            select(Customer.id).where(Customer.deleted_at.is_(None)).limit(1)
        ).first()
    return found is None


# --- the world the demo lives in -------------------------------------------------


@dataclass(frozen=True)
class _City:
    name: str
    region: str | None
    postcodes: tuple[str, ...]  # patterns: 9 is any digit, A any letter
    area: tuple[str, ...]  # national phone prefixes of fixed lines here


@dataclass(frozen=True)
class _Country:
    code: str
    currency: str
    tld: str
    weight: int
    cities: tuple[_City, ...]
    city_weights: tuple[int, ...]
    streets: tuple[str, ...]
    street_number_first: bool
    surnames: tuple[str, ...]
    first_names: tuple[str, ...]
    trades: tuple[str, ...]
    legal: tuple[str, ...]
    patterns: tuple[str, ...]  # {S} surname, {S2} second surname, {T} trade, {C} city
    fixed_lengths: tuple[int, ...]  # national significant number lengths to try
    mobile: tuple[str, ...]
    mobile_lengths: tuple[int, ...]
    free_mail: tuple[str, ...]
    titles: tuple[str, ...]
    feedback: dict[int, tuple[str, ...]]  # the customer's own words, in their language


def _city(name: str, region: str | None, postcodes: str, area: str) -> _City:
    return _City(name, region, tuple(postcodes.split()), tuple(area.split()))


_EN_TITLES = (
    "Head of Purchasing", "Fleet Manager", "Operations Director", "Warehouse Manager",
    "Maintenance Lead", "CFO", "Buyer", "Office Manager", "Managing Director",
    "Logistics Coordinator", "Site Manager", "Procurement Specialist", "Health & Safety Officer",
)  # fmt: skip

# fmt: off
COUNTRIES: dict[str, _Country] = {
    "DE": _Country(
        code="DE", currency="EUR", tld="de", weight=26,
        cities=(
            _city(
                "Berlin", "Berlin",
                "10115 10243 10317 10557 10785 12099 12487 13353 13507 14167", "30",
            ),
            _city("Hamburg", "Hamburg", "20095 20457 21029 22041 22525 22769", "40"),
            _city("München", "Bayern", "80331 80636 80939 81241 81671 81929", "89"),
            _city("Köln", "Nordrhein-Westfalen", "50667 50823 50996 51063 51149", "221"),
            _city("Frankfurt am Main", "Hessen", "60306 60486 60599 65929 65936", "69"),
            _city("Stuttgart", "Baden-Württemberg", "70173 70372 70469 70565 70629", "711"),
            _city("Düsseldorf", "Nordrhein-Westfalen", "40210 40476 40549 40629", "211"),
            _city("Leipzig", "Sachsen", "04103 04177 04229 04357", "341"),
            _city("Nürnberg", "Bayern", "90402 90429 90451 90491", "911"),
            _city("Dortmund", "Nordrhein-Westfalen", "44135 44227 44319 44388", "231"),
            _city("Bremen", "Bremen", "28195 28217 28307 28779", "421"),
            _city("Hannover", "Niedersachsen", "30159 30419 30539 30669", "511"),
        ),
        city_weights=(30, 10, 8, 7, 7, 6, 5, 5, 4, 4, 4, 5),
        streets=(
            "Hauptstraße", "Industriestraße", "Gewerbepark Süd", "Am Hafen", "Müllerstraße",
            "Friedrichstraße", "Bahnhofstraße", "Schillerstraße", "Lindenallee",
            "Rudolf-Diesel-Straße", "Carl-Benz-Straße", "Im Gewerbegebiet", "Mühlenweg",
            "Gutenbergstraße", "Otto-Hahn-Straße",
        ),
        street_number_first=False,
        surnames=(
            "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
            "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
            "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
            "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Köhler",
            "Huber", "Kaiser", "Fuchs", "Peters", "Möller", "Weiß", "Jung", "Hahn", "Vogel",
            "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck",
            "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Böhm", "Winter", "Kraus",
            "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Sommer", "Groß", "Seidel", "Brandt",
            "Haas", "Schreiber", "Graf", "Dietrich", "Ziegler", "Kühn", "Pohl", "Engel", "Horn",
            "Busch", "Bergmann", "Voigt", "Sauer", "Arnold", "Pfeiffer",
        ),
        first_names=(
            "Josef", "Anna", "Thomas", "Michael", "Stefan", "Andreas", "Sabine", "Claudia",
            "Julia", "Katrin", "Jürgen", "Uwe", "Markus", "Petra", "Lena", "Jörg", "Björn",
            "Tobias", "Sophie", "Günter", "Birgit", "Dieter", "Monika", "Frank", "Heike",
        ),
        trades=(
            "Maschinenbau", "Logistik", "Spedition", "Lagertechnik", "Baustoffe", "Getränkehandel",
            "Metallbau", "Holzwerke", "Kunststofftechnik", "Fördertechnik", "Elektrotechnik",
            "Lebensmittel", "Agrarhandel", "Papierfabrik", "Brauerei", "Möbelwerke", "Stahlhandel",
            "Landtechnik", "Verpackungen", "Gießerei", "Großhandel", "Transporte", "Recycling",
            "Anlagenbau",
        ),
        legal=("GmbH", "GmbH", "GmbH", "AG", "GmbH & Co. KG", "KG", "e.K."),
        patterns=("{S} {T}", "{S} {T}", "{S} & {S2} {T}", "{S} {T} {C}", "{T} {S}"),
        fixed_lengths=(10, 11, 9),
        mobile=("151", "160", "170", "171", "175", "176", "152"),
        mobile_lengths=(11,),
        free_mail=("gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de"),
        titles=(
            "Geschäftsführung", "Einkaufsleitung", "Leitung Logistik", "Werkstattmeister",
            "Fuhrparkleiter", "Lagerleitung", "Prokurist", "Technischer Leiter",
        ),
        feedback={
            1: ("Sehr verärgert: die Rechnung war schon wieder falsch.",),
            2: ("Unzufrieden mit der Lieferzeit, der Wettbewerb ist schneller.",),
            3: ("Preis ist zu hoch, sie überlegen noch.",),
            4: ("Zufrieden mit dem Service, Lieferung kam pünktlich.",),
            5: ("Sehr zufrieden, das neue Modell läuft hervorragend.",),
        },
    ),
    "AT": _Country(
        code="AT", currency="EUR", tld="at", weight=6,
        cities=(
            _city("Wien", "Wien", "1010 1030 1100 1110 1210 1230", "1"),
            _city("Graz", "Steiermark", "8010 8020 8051", "316"),
            _city("Linz", "Oberösterreich", "4020 4030 4040", "732"),
            _city("Salzburg", "Salzburg", "5020 5023", "662"),
            _city("Innsbruck", "Tirol", "6020 6063", "512"),
        ),
        city_weights=(40, 18, 18, 12, 12),
        streets=(
            "Mariahilfer Straße", "Industriezeile", "Gewerbestraße", "Hauptplatz", "Wiener Straße",
            "Lagerhausstraße", "Südbahnstraße",
        ),
        street_number_first=False,
        surnames=(
            "Gruber", "Huber", "Bauer", "Wagner", "Müller", "Pichler", "Steiner", "Moser", "Mayer",
            "Hofer", "Leitner", "Berger", "Fuchs", "Eder", "Fischer", "Schmid", "Winkler", "Weber",
            "Schwarz", "Maier", "Reiter", "Mayr", "Wimmer", "Egger", "Brunner", "Lang",
            "Baumgartner", "Auer", "Binder", "Lechner",
        ),
        first_names=(
            "Josef", "Johann", "Franz", "Maria", "Elisabeth", "Gerhard", "Karin", "Wolfgang",
            "Andrea", "Christian", "Theresa", "Lukas",
        ),
        trades=(
            "Holzindustrie", "Bau", "Transporte", "Logistik", "Metallwaren", "Getränke",
            "Landmaschinen", "Baustoffe", "Papier", "Maschinenbau", "Lebensmittel",
        ),
        legal=("GmbH", "GmbH", "AG", "KG", "GmbH & Co KG"),
        patterns=("{S} {T}", "{S} & {S2} {T}", "{S} {T} {C}"),
        fixed_lengths=(8, 9, 10, 11),
        mobile=("664", "660", "676", "699", "650"),
        mobile_lengths=(10, 11, 12),
        free_mail=("gmx.at", "aon.at", "gmail.com"),
        titles=("Geschäftsführung", "Einkauf", "Betriebsleitung", "Leitung Fuhrpark"),
        feedback={
            1: ("Total unzufrieden, die Reklamation wurde ignoriert.",),
            2: ("Enttäuscht vom Service diesmal.",),
            3: ("Passt so, aber der Preis muss runter.",),
            4: ("Zufrieden, die Wartung lief reibungslos.",),
            5: ("Sehr happy mit der Schulung, danke!",),
        },
    ),
    "CH": _Country(
        code="CH", currency="CHF", tld="ch", weight=6,
        cities=(
            _city("Zürich", "ZH", "8001 8005 8048 8050 8064", "44"),
            _city("Basel", "BS", "4051 4057 4058", "61"),
            _city("Bern", "BE", "3011 3014 3027", "31"),
            _city("Genève", "GE", "1201 1204 1219", "22"),
            _city("Lausanne", "VD", "1003 1004 1018", "21"),
            _city("Luzern", "LU", "6003 6005 6014", "41"),
        ),
        city_weights=(30, 15, 15, 15, 12, 13),
        streets=(
            "Bahnhofstrasse", "Industriestrasse", "Rue du Rhône", "Seestrasse", "Hardturmstrasse",
            "Route de Lausanne", "Grabenstrasse",
        ),
        street_number_first=False,
        surnames=(
            "Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Schneider", "Meyer",
            "Steiner", "Fischer", "Gerber", "Brunner", "Baumann", "Frei", "Zimmermann", "Moser",
            "Widmer", "Wyss", "Graf", "Roth", "Favre", "Rochat", "Bonvin", "Zürcher",
        ),
        first_names=(
            "Beat", "Urs", "Reto", "Daniela", "Corinne", "Josef", "Lukas", "Nadine", "Marco",
            "Sandra", "Céline", "Mathieu",
        ),
        trades=(
            "Transporte", "Logistik", "Maschinen", "Holzbau", "Metallbau", "Käserei",
            "Präzisionsteile", "Baustoffe", "Lagerhaus", "Getränke",
        ),
        legal=("AG", "AG", "GmbH", "SA", "& Cie SA"),
        patterns=("{S} {T}", "{S} + {S2} {T}", "{S} {T} {C}"),
        fixed_lengths=(9,),
        mobile=("76", "77", "78", "79"),
        mobile_lengths=(9,),
        free_mail=("bluewin.ch", "gmx.ch", "gmail.com"),
        titles=("Geschäftsführung", "Leitung Einkauf", "Direction technique", "Betriebsleitung"),
        feedback={
            1: ("Sehr unzufrieden mit der Rechnung.",),
            2: ("Lieferung zu spät, Kunde verärgert.",),
            3: ("Ça va, mais le prix reste trop élevé.",),
            4: ("Zufrieden mit dem Unterhalt.",),
            5: ("Très contents du nouveau modèle.",),
        },
    ),
    "FR": _Country(
        code="FR", currency="EUR", tld="fr", weight=14,
        cities=(
            _city("Paris", "Île-de-France", "75002 75011 75015 75019 93200 94150", "1"),
            _city("Lyon", "Auvergne-Rhône-Alpes", "69002 69003 69007 69100", "4"),
            _city("Marseille", "Provence-Alpes-Côte d'Azur", "13001 13008 13015", "4"),
            _city("Toulouse", "Occitanie", "31000 31200 31400", "5"),
            _city("Lille", "Hauts-de-France", "59000 59160 59800", "3"),
            _city("Nantes", "Pays de la Loire", "44000 44100 44300", "2"),
            _city("Strasbourg", "Grand Est", "67000 67100 67200", "3"),
            _city("Bordeaux", "Nouvelle-Aquitaine", "33000 33100 33300", "5"),
        ),
        city_weights=(25, 18, 12, 10, 10, 9, 8, 8),
        streets=(
            "rue de la République", "avenue Jean Jaurès", "boulevard Victor Hugo",
            "rue du Général Leclerc", "zone industrielle des Épinettes", "chemin des Prés",
            "rue de l'Industrie", "avenue de la Gare", "quai de Saône",
        ),
        street_number_first=True,
        surnames=(
            "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
            "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
            "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier",
            "Dupont", "Lambert", "Bonnet", "François", "Fabre", "Chevalier", "Gauthier", "Perrin",
            "Rousseau", "Blanc", "Guérin", "Boyer", "Clément", "Gaillard", "Brunet", "Noël",
            "Masson", "Marchand", "Dumont", "Lemaire", "Bélanger", "Février",
        ),
        first_names=(
            "Jean", "Marie", "Pierre", "Sophie", "Nicolas", "Isabelle", "François", "Céline",
            "Stéphane", "Élodie", "Hélène", "Jérôme", "Amélie", "Loïc", "Thierry", "José",
            "Camille", "Benoît",
        ),
        trades=(
            "Transports", "Logistique", "Levage", "Manutention", "Emballages", "Matériaux",
            "Mécanique", "Distribution", "Métallurgie", "Bâtiment", "Menuiserie", "Froid",
        ),
        legal=("SAS", "SA", "SARL", "SAS", "et Fils"),
        patterns=(
            "{T} {S}", "{S} {T}", "Établissements {S}", "Société Générale de {T}",
            "{S} & {S2} {T}", "{T} du {C}", "Groupe {S} {T}",
        ),
        fixed_lengths=(9,),
        mobile=("6", "7"),
        mobile_lengths=(9,),
        free_mail=("orange.fr", "free.fr", "laposte.net", "gmail.com"),
        titles=(
            "Directeur général", "Responsable achats", "Chef d'atelier", "Responsable logistique",
            "Achats", "Responsable des opérations",
        ),
        feedback={
            1: ("Très mécontents : encore une erreur sur la facture.",),
            2: ("Déçus par le délai de livraison.",),
            3: ("Correct, mais le prix reste trop élevé.",),
            4: ("Satisfaits du service après-vente.",),
            5: ("Ravis du nouveau modèle, les caristes l'adorent.",),
        },
    ),
    "GB": _Country(
        code="GB", currency="GBP", tld="co.uk", weight=14,
        cities=(
            _city("London", None, "E14 EC1A SE1 N7 W3 NW10", "20"),
            _city("Manchester", None, "M1 M4 M17 M50", "161"),
            _city("Birmingham", None, "B1 B6 B11 B46", "121"),
            _city("Leeds", None, "LS1 LS9 LS11", "113"),
            _city("Bristol", None, "BS1 BS2 BS11", "117"),
            _city("Glasgow", None, "G1 G2 G51", "141"),
            _city("Sheffield", None, "S1 S4 S9", "114"),
        ),
        city_weights=(30, 16, 16, 10, 10, 9, 9),
        streets=(
            "High Street", "Station Road", "Trafford Park Road", "Canal Side", "Mill Lane",
            "Church Street", "Victoria Road", "Riverside Way", "Dock Road",
        ),
        street_number_first=True,
        surnames=(
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
            "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
            "Hall", "Wood", "Jackson", "Clarke", "Harper", "Lane", "Hughes", "Edwards", "Turner",
            "Cooper", "Hill", "Ward", "Morris", "Moore", "King", "Baker", "Harrison", "Morgan",
            "Allen", "Scott", "Phillips", "Watson", "Parker", "Price", "Bennett", "Young",
            "Griffiths", "Mitchell", "Kelly", "Carter", "Bailey", "Collins", "Bell", "Shaw",
            "Murphy", "Khan", "Marshall", "Simpson", "Ellis", "Singh", "O'Brien",
        ),
        first_names=(
            "James", "Oliver", "Emma", "Charlotte", "Sarah", "David", "Paul", "Rachel", "Tom",
            "Hannah", "Siobhán", "Gareth", "Aisha", "Priya", "Ian", "Chloë", "Rhys",
        ),
        trades=(
            "Logistics", "Haulage", "Engineering", "Distribution", "Warehousing",
            "Building Supplies", "Timber", "Foods", "Packaging", "Plant Hire", "Fabrications",
            "Freight",
        ),
        legal=("Ltd", "Ltd", "Ltd", "plc", "LLP"),
        patterns=("{S} {T}", "{S} & {S2} {T}", "{C} {T}", "{S} Brothers {T}", "{S} {T} {C}"),
        fixed_lengths=(10,),
        mobile=("74", "75", "77", "78", "79"),
        mobile_lengths=(10,),
        free_mail=("btinternet.com", "gmail.com", "outlook.com", "yahoo.co.uk"),
        titles=_EN_TITLES,
        feedback={},
    ),
    "US": _Country(
        code="US", currency="USD", tld="com", weight=14,
        cities=(
            _city("New York", "NY", "10001 10013 10018 11101 11201", "212 646 718"),
            _city("Chicago", "IL", "60601 60607 60616 60632", "312 773"),
            _city("Houston", "TX", "77002 77020 77041", "713 832"),
            _city("Boston", "MA", "02108 02118 02210", "617"),
            _city("Atlanta", "GA", "30303 30318 30336", "404 678"),
            _city("Detroit", "MI", "48201 48209 48226", "313"),
            _city("Columbus", "OH", "43215 43219 43228", "614"),
            _city("Charlotte", "NC", "28202 28208 28273", "704"),
        ),
        city_weights=(20, 16, 14, 10, 12, 10, 9, 9),
        streets=(
            "Main Street", "Industrial Parkway", "Commerce Drive", "Harbor Boulevard",
            "Warehouse Row", "Oak Avenue", "Lakeside Drive", "Logistics Way",
        ),
        street_number_first=True,
        surnames=(
            "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "García",
            "Rodríguez", "Martínez", "Hernández", "López", "González", "Wilson", "Anderson",
            "Thomas", "Taylor", "Moore", "Jackson", "Lee", "Nguyen", "Kim", "Patel", "Walker",
            "Hall", "Young", "Allen", "Sanchez", "Wright", "Hill", "Flores", "Green", "Adams",
            "Baker", "Nelson", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
        ),
        first_names=(
            "Michael", "Jennifer", "Chris", "Ashley", "José", "Maria", "Robert", "Linda", "Kevin",
            "Tyler", "Megan", "Brandon", "DeShawn", "Lauren", "Luis", "Mei",
        ),
        trades=(
            "Logistics", "Supply", "Distribution", "Manufacturing", "Industrial", "Freight",
            "Foods", "Materials", "Warehousing", "Equipment", "Lumber", "Beverage",
        ),
        legal=("Inc.", "Inc.", "LLC", "LLC", "Corp.", "Co."),
        patterns=("{S} {T}", "{S} & {S2} {T}", "{C} {T}", "{S} {T} {C}", "American {T} {S}"),
        fixed_lengths=(10,),
        mobile=(),
        mobile_lengths=(10,),
        free_mail=("gmail.com", "outlook.com", "yahoo.com", "icloud.com"),
        titles=_EN_TITLES,
        feedback={},
    ),
    "NL": _Country(
        code="NL", currency="EUR", tld="nl", weight=8,
        cities=(
            _city("Amsterdam", "Noord-Holland", "1011AB 1043CD 1096EF", "20"),
            _city("Rotterdam", "Zuid-Holland", "3011GH 3089JK 3197LM", "10"),
            _city("Utrecht", "Utrecht", "3511NP 3542RS", "30"),
            _city("Eindhoven", "Noord-Brabant", "5611TV 5652WX", "40"),
            _city("Den Haag", "Zuid-Holland", "2511AB 2491CD", "70"),
        ),
        city_weights=(25, 30, 15, 15, 15),
        streets=(
            "Keizersgracht", "Industrieweg", "Havenstraat", "Stationsplein", "Transportweg",
            "Marconistraat", "Europaweg",
        ),
        street_number_first=False,
        surnames=(
            "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
            "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Hendriks",
            "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf",
            "van der Meer",
        ),
        first_names=(
            "Jan", "Pieter", "Sanne", "Daan", "Eva", "Bram", "Femke", "Joost", "Marieke", "Sven",
        ),
        trades=(
            "Transport", "Logistiek", "Groothandel", "Machinebouw", "Installatietechniek",
            "Bouwmaterialen", "Tuinbouw", "Verpakkingen", "Koeltechniek",
        ),
        legal=("B.V.", "B.V.", "B.V.", "N.V.", "& Zonen"),
        patterns=("{S} {T}", "{S} & {S2} {T}", "{T} {C}", "{S} {T} {C}"),
        fixed_lengths=(9,),
        mobile=("6",),
        mobile_lengths=(9,),
        free_mail=("ziggo.nl", "kpnmail.nl", "gmail.com"),
        titles=("Directeur", "Inkoper", "Hoofd logistiek", "Magazijnchef", "Fleet Manager"),
        feedback={
            1: ("Zeer ontevreden over de factuur.",),
            2: ("Levering te laat, klant baalt.",),
            3: ("Prima, maar de prijs is te hoog.",),
            4: ("Tevreden over het onderhoud.",),
            5: ("Erg tevreden over de training!",),
        },
    ),
    "ES": _Country(
        code="ES", currency="EUR", tld="es", weight=6,
        cities=(
            _city("Madrid", "Madrid", "28001 28014 28045 28906", "91"),
            _city("Barcelona", "Cataluña", "08001 08018 08038 08940", "93"),
            _city("Valencia", "Comunidad Valenciana", "46001 46015 46024", "96"),
            _city("Sevilla", "Andalucía", "41001 41007 41016", "954"),
            _city("Bilbao", "País Vasco", "48001 48008 48013", "944"),
            _city("Zaragoza", "Aragón", "50001 50012 50197", "976"),
        ),
        city_weights=(30, 25, 15, 10, 10, 10),
        streets=(
            "Calle Mayor", "Avenida de la Constitución", "Polígono Industrial Las Arenas",
            "Carrer de Balmes", "Calle de Alcalá", "Paseo de la Castellana",
        ),
        street_number_first=False,
        surnames=(
            "García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
            "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno", "Muñoz",
            "Álvarez", "Romero", "Alonso", "Gutiérrez", "Navarro", "Torres", "Domínguez",
            "Vázquez", "Ramos", "Serrano", "Blanco", "Molina", "Ortega", "Núñez",
        ),
        first_names=(
            "José", "Antonio", "Manuel", "María", "Carmen", "Javier", "Lucía", "Alejandro",
            "Marta", "Sergio", "Elena", "Raúl", "Begoña", "Iñigo", "Nuria",
        ),
        trades=(
            "Transportes", "Logística", "Distribuciones", "Construcciones", "Alimentación",
            "Maquinaria", "Embalajes", "Metalúrgica",
        ),
        legal=("S.L.", "S.L.", "S.A.", "S.L.U."),
        patterns=("{T} {S}", "{T} {S} y {S2}", "Hermanos {S} {T}", "{T} {C}", "{S} {T} {C}"),
        fixed_lengths=(9,),
        mobile=("6",),
        mobile_lengths=(9,),
        free_mail=("gmail.com", "hotmail.es", "telefonica.net"),
        titles=("Director general", "Responsable de compras", "Jefe de almacén", "Gerente"),
        feedback={
            1: ("Muy enfadados con la factura.",),
            2: ("Descontentos con el plazo de entrega.",),
            3: ("Bien, pero el precio es alto.",),
            4: ("Contentos con el servicio técnico.",),
            5: ("Muy contentos con el nuevo modelo.",),
        },
    ),
    "IT": _Country(
        code="IT", currency="EUR", tld="it", weight=6,
        cities=(
            _city("Milano", "Lombardia", "20121 20141 20156", "02"),
            _city("Roma", "Lazio", "00184 00144 00155", "06"),
            _city("Torino", "Piemonte", "10121 10135 10156", "011"),
            _city("Bologna", "Emilia-Romagna", "40121 40132 40138", "051"),
            _city("Napoli", "Campania", "80133 80143 80146", "081"),
            _city("Verona", "Veneto", "37121 37135 37139", "045"),
        ),
        city_weights=(30, 20, 15, 15, 10, 10),
        streets=(
            "Via Roma", "Via Giuseppe Garibaldi", "Viale dell'Industria",
            "Corso Vittorio Emanuele", "Via dei Mille", "Strada Statale", "Via Nazionale",
        ),
        street_number_first=False,
        surnames=(
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
            "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa",
            "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro",
            "Mariani", "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone",
        ),
        first_names=(
            "Giuseppe", "Marco", "Francesca", "Giulia", "Alessandro", "Luca", "Chiara", "Matteo",
            "Elena", "Roberto", "Paola", "Niccolò", "Federica", "José",
        ),
        trades=(
            "Trasporti", "Logistica", "Meccanica", "Alimentari", "Imballaggi", "Edilizia",
            "Acciai",
        ),
        legal=("S.r.l.", "S.r.l.", "S.p.A.", "S.n.c."),
        patterns=(
            "{S} {T}", "Fratelli {S}", "{S} & {S2} {T}", "Officine Meccaniche {S}", "{T} {C}",
        ),
        fixed_lengths=(9, 10, 8),
        mobile=("3",),
        mobile_lengths=(10,),
        free_mail=("libero.it", "gmail.com", "tiscali.it"),
        titles=(
            "Amministratore delegato", "Responsabile acquisti", "Capo magazzino",
            "Responsabile logistica",
        ),
        feedback={
            1: ("Molto arrabbiati per la fattura sbagliata.",),
            2: ("Delusi dai tempi di consegna.",),
            3: ("Va bene, ma il prezzo è alto.",),
            4: ("Soddisfatti della manutenzione.",),
            5: ("Molto soddisfatti del nuovo modello.",),
        },
    ),
}
# fmt: on

# Sales teams of a manager's group: (territory, time zone, countries they cover).
TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("DACH", "Europe/Berlin", ("DE", "AT", "CH")),
    ("UK & Benelux", "Europe/London", ("GB", "NL")),
    ("France", "Europe/Paris", ("FR",)),
    ("Southern Europe", "Europe/Madrid", ("ES", "IT")),
    ("North America", "America/New_York", ("US",)),
)
TERRITORY_OF = {code: name for name, _tz, codes in TEAMS for code in codes}

_REP_FIRST = (
    "maria", "tom", "lukas", "sophie", "jonas", "emma", "felix", "hannah", "david", "laura",
    "oliver", "grace", "william", "amelia", "harry", "isla", "lucas", "chloe", "hugo", "manon",
    "louis", "camille", "jules", "alice", "pablo", "lucia", "mateo", "sara", "giulia", "marco",
    "alba", "diego", "ethan", "olivia", "noah", "ava", "liam", "mia", "james", "zoe",
    "ben", "lea", "paul", "nina", "max", "lina", "finn", "ella", "leon", "clara",
)  # fmt: skip
_REP_LAST = (
    "keller", "brandt", "huber", "wagner", "schuster", "roth", "lang", "vogel", "kraus", "frei",
    "walsh", "hughes", "clarke", "jansen", "bakker", "smith", "evans", "visser", "taylor", "dekker",
    "moreau", "girard", "lambert", "fontaine", "rousseau", "blanc", "dupuis", "mercier",
    "leclerc", "perrin", "garcia", "navarro", "romero", "conti", "ricci", "moretti", "ortega",
    "serra", "galli", "marin", "miller", "davis", "brooks", "reed", "carter", "hayes",
    "foster", "price", "bennett", "ward",
)  # fmt: skip


def sales_team(count: int) -> list[str]:
    """``count`` rep emails of a manager's group (firstname.lastname@northwind-sales.example).

    :func:`generate_demo` puts rep ``i`` of ``count`` in team ``i * 5 // count``, so the
    first tenth cover DACH, the next UK & Benelux, then France, Southern Europe and
    North America.
    """
    return [
        f"{_REP_FIRST[i % len(_REP_FIRST)]}.{_REP_LAST[i % len(_REP_LAST)]}@{TEAM_DOMAIN}"
        for i in range(count)
    ]


# --- what the reps write ---------------------------------------------------------

PRODUCTS = (
    "EFX-25 electric forklift", "RT-16 reach truck", "PT-20 pallet truck", "OP-10 order picker",
    "HX-50 heavy forklift", "AGV-3 tugger", "EFX-30",
)  # fmt: skip
ISSUES = (
    "late delivery of spare parts", "battery charger fault", "invoice errors",
    "technician arriving late", "hydraulic leak on the RT-16", "wrong tyres delivered",
    "noisy mast on the EFX-25", "missing service report",
)  # fmt: skip
COMPETITORS = ("Jungheinrich", "Linde", "Toyota", "STILL", "Crown", "Hyster")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip

# (subject, notes) for a touchpoint about one topic; {x} are filled per interaction.
TOPICS: tuple[tuple[str, str], ...] = (
    ("Quote for {qty} × {product}",
     "Went through the quote for {qty} {product} units with {contact}. They want a better "
     "price before {month}; I said I would check what we can do on the service package."),
    ("Quote follow-up",
     "{contact} has our quote on the desk but is waiting for the budget. Competitor "
     "{competitor} quoted 4% lower; ours includes maintenance."),
    ("Delivery date {product}",
     "Delivery of the {product} slipped to week {week}. Promised {contact} to confirm the "
     "date with logistics and to send a loan truck if needed."),
    ("Delivery confirmed",
     "Confirmed delivery for {day}; {contact} will have the dock free from 7:00."),
    ("Contract renewal {year}",
     "Contract renewal for the maintenance agreement is due in {month}. {contact} wants to "
     "keep the current terms and add two trucks."),
    ("Complaint: {issue}",
     "{contact} raised a complaint about the {issue}. I apologised, opened a service ticket "
     "and promised a call back from the service manager."),
    ("Service visit {city}",
     "Service visit at the {city} site: checked {qty} trucks, two need new tyres, one "
     "battery is at end of life."),
    ("Invoice {invoice}",
     "Question about invoice {invoice}: the freight charge was billed twice. Asked "
     "accounting to issue a credit note; {contact} was fine with that."),
    ("Price review {year}",
     "Price increase of {pct}% from January discussed. {contact} will compare with "
     "{competitor} but values our service response times."),
    ("Maintenance planning",
     "Planned the maintenance of the whole fleet for {month}; {qty} trucks, done on "
     "Saturdays so production is not disturbed."),
    ("Operator training",
     "Booked operator training for {qty} drivers at their {city} warehouse. {contact} "
     "asked for the certificates in German and English."),
    ("New model demo",
     "Demo of the new model {product} on site. {contact} liked the battery range and the "
     "cabin; wants a trial week."),
    ("Quarterly review",
     "Quarterly review with {contact}: uptime 97%, two open service tickets, invoice "
     "questions settled. Next topic is the contract renewal."),
    ("Intro call",
     "First call with {contact}. They run {qty} trucks from three brands and are unhappy "
     "with their current service partner."),
    ("Trade fair follow-up",
     "Met {contact} at the Berlin trade fair stand. Interested in the new model and in "
     "rental for the peak season."),
    ("Spare parts",
     "Spare parts order for the {product}: {contact} needs them before the {month} "
     "inventory; checked stock with the warehouse."),
    ("Rental for peak season",
     "Discussed rental of {qty} pallet trucks for the peak season; price per week sent "
     "by email, delivery to {city}."),
)  # fmt: skip

# The everyday rest of a rep's notes: people, sites, plans, small print.
EVERYDAY_TOPICS: tuple[tuple[str, str], ...] = (
    ("Site visit {city}",
     "Walked the {city} warehouse with {contact}: narrow aisles, they need a truck with a "
     "smaller turning radius. Took photos for our engineer."),
    ("Fleet check",
     "Counted {qty} trucks on site, three older than ten years. {contact} will send the hour "
     "meter readings."),
    ("Lithium batteries",
     "{contact} asked about lithium batteries instead of lead-acid; sent the comparison sheet "
     "and the charging times."),
    ("Tyres", "Tyre wear on the front axle again; suggested non-marking tyres for the food hall."),
    ("Safety audit",
     "Their safety officer wants a blue pedestrian warning light on every truck by {month}."),
    ("Budget {year}",
     "Budget for next year is set in {month}; {contact} will push for two more trucks."),
    ("New contact",
     "{contact} is the new head of logistics; the previous buyer retired. Introduced our team."),
    ("Payment", "Payment for the last order arrived; accounting confirmed the transfer."),
    ("Lunch with {contact}",
     "Lunch with {contact}. Talked about their second warehouse, planned for next year."),
    ("Reference visit",
     "{contact} would like to see a customer running the AGV-3; asked a reference in {city}."),
    ("Rental return",
     "Picked up the rental trucks; one has a dent in the fork carriage, photos sent."),
    ("Hour meter readings",
     "Received the hour meter readings for {qty} trucks; two are due for inspection."),
    ("Tender", "Public tender for {qty} trucks published; deadline in {month}. We will bid."),
    ("Shift pattern",
     "They move to three shifts from {month}; the charging plan needs a rethink."),
    ("Call back", "{contact} called back and wants to meet next week at the {city} site."),
    ("Appointment", "Fixed an appointment with {contact} for {day} at 10:00."),
    ("Warehouse move",
     "They are moving to a new building in {city}; want advice on racking and aisle width."),
    ("Usage report",
     "Sent the usage report; two trucks are hardly used, suggested moving them to the second "
     "site."),
    ("Cold store",
     "Cold store at -25 °C: {contact} asks which trucks are rated for it and for how long."),
    ("Telematics",
     "Showed the fleet telematics dashboard; {contact} wants access cards for {qty} drivers."),
    ("Year-end", "Year-end planning: stocktaking in {month}, nothing arrives that week."),
    ("Holiday cover", "{contact} is away for three weeks; her deputy handles orders meanwhile."),
    ("Forklift licences",
     "Half of their drivers need their licences renewed; {contact} collects the names."),
    ("Dock layout",
     "Looked at the loading docks with {contact}; the ramp is too steep for the pallet trucks."),
    ("Catalogue", "Dropped off the new catalogue and the accessories leaflet at reception."),
)  # fmt: skip

OWN_OUTCOMES = (
    "agreed on a trial week", "waiting for budget approval", "needs a second visit",
    "sent the revised quote", "asked for references", "decision next month",
)  # fmt: skip

FEEDBACK_EN: dict[int, tuple[str, ...]] = {
    1: (
        "Angry: third complaint about the invoice this quarter.",
        "Very unhappy, the technician did not show up.",
        "Says they are looking at {competitor} now.",
    ),
    2: (
        "Unhappy about the late delivery.",
        "Not happy with the service response time.",
        "Frustrated: the price went up again.",
    ),
    3: (
        "OK, but the price is still too high for them.",
        "Fine with the service, wants faster delivery.",
        "Neutral; waiting to see the new model.",
    ),
    4: (
        "Happy with the service, delivery was on time.",
        "Pleased with the training, drivers feel safer.",
        "Good meeting, likes the maintenance plan.",
    ),
    5: (
        "Very happy with the new model; drivers love it.",
        "Delighted with the service team, best partner they have.",
        "Happy: the contract renewal went smoothly.",
    ),
}

# Promises made in a touchpoint, by topic word in its subject (a default otherwise).
PROMISES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Quote", ("Send the revised quote", "Call back about the quote")),
    ("Delivery", ("Confirm the delivery date", "Send delivery note and tracking")),
    ("Contract", ("Send contract renewal draft", "Check renewal terms with legal")),
    ("Complaint", ("Call back about the complaint", "Send the service report")),
    ("Service", ("Book the service technician", "Order two sets of tyres")),
    ("Invoice", ("Check invoice with accounting", "Send the credit note")),
    ("Price", ("Send price list {year}", "Prepare a price comparison")),
    ("Maintenance", ("Schedule maintenance for {month}", "Send the maintenance plan")),
    ("Training", ("Send training dates", "Send the training certificates")),
    ("model", ("Arrange a trial week of the new model", "Send brochure of the new model")),
)  # fmt: skip
DEFAULT_PROMISES = ("Send brochure", "Introduce the service manager", "Call back next week")

DEAL_TITLES = (
    "{qty} × {product}", "Maintenance contract {year}", "Fleet renewal {year}",
    "Operator training package", "Spare parts framework agreement", "Rental fleet for peak season",
)  # fmt: skip
INDUSTRIES = (
    "Logistics & Warehousing", "Manufacturing", "Food & Beverage", "Construction",
    "Retail & Wholesale", "Automotive", "Chemicals", "Agriculture", "Paper & Packaging", "Metals",
)  # fmt: skip
TAGS = (
    "service-contract", "rental", "electric-fleet", "trade-fair", "newsletter", "tender",
    "multi-site", "reference",
)  # fmt: skip
CUSTOM_FIELDS = (
    ("fleet_size", "Fleet size", "number", []),
    ("contract_end", "Contract end", "date", []),
    ("tier", "Tier", "choice", ["Gold", "Silver", "Bronze"]),
)

_KIND_WEIGHTS = (("call", 45), ("visit", 20), ("meeting", 10), ("email", 18), ("message", 4),
                 ("note", 3))  # fmt: skip
_CALL_OUTCOMES = (("connected", 58), ("voicemail", 15), ("no answer", 12),
                  ("meeting booked", 8), ("order", 3), ("complaint", 2), ("own", 2))  # fmt: skip
_MEET_OUTCOMES = (("connected", 55), ("meeting booked", 10), ("order", 12), ("complaint", 4),
                  ("own", 19))  # fmt: skip


# --- small helpers -----------------------------------------------------------------

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe",
                           "Ü": "Ue", "ø": "o", "æ": "ae", "œ": "oe"})  # fmt: skip


def _ascii(text: str, german: bool = False) -> str:
    if german:
        text = text.translate(_TRANSLIT)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _slug(text: str, german: bool = False) -> str:
    plain = _ascii(text, german).lower().replace("&", " ").replace("+", " ")
    plain = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")
    return plain[:40].rstrip("-")


def _weighted(rng: random.Random, pairs: Sequence[tuple[str, int]]) -> str:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _apportion(rng: random.Random, total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into whole numbers proportional to ``weights``, summing exactly."""
    n = len(weights)
    if n == 0 or total <= 0:
        return [0] * n
    whole = sum(weights)
    if whole <= 0:
        weights = [1.0] * n
        whole = float(n)
    shares = [math.floor(total * w / whole) for w in weights]
    for index in rng.choices(range(n), weights=weights, k=total - sum(shares)):
        shares[index] += 1
    return shares


def _postcode(rng: random.Random, pattern: str, country: str) -> str:
    if country == "GB":
        return f"{pattern} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}" + rng.choice(
            "ABDEFGHJLNPQRSTUWXYZ"
        )
    if country == "NL":
        return f"{pattern[:4]} {pattern[4:]}"
    return pattern


@dataclass
class _Rep:
    email: str
    team: int
    tz: tzinfo


# --- phones ------------------------------------------------------------------------


class _Phones:
    """Unique, valid numbers in E.164 for a country, fixed lines with the city's area code."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def _try(self, country: _Country, prefix: str, lengths: Sequence[int]) -> str | None:
        rng = self.rng
        code = phonenumbers.country_code_for_region(country.code)
        for _ in range(40):
            length = rng.choice(lengths)
            rest = length - len(prefix)
            if rest < 4:
                continue
            national = (
                prefix
                + str(rng.randint(2, 9))
                + "".join(str(rng.randint(0, 9)) for _ in range(rest - 1))
            )
            number = phonenumbers.parse(f"+{code}{national}", None)
            if not phonenumbers.is_valid_number(number):
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in self.used:
                self.used.add(e164)
                return e164
        return None

    def fixed(self, country: _Country, city: _City) -> str:
        found = self._try(country, self.rng.choice(city.area), country.fixed_lengths)
        return found or self.mobile(country)

    def mobile(self, country: _Country) -> str:
        prefixes = country.mobile or tuple(a for c in country.cities for a in c.area)
        lengths = country.mobile_lengths
        for _ in range(20):
            found = self._try(country, self.rng.choice(prefixes), lengths)
            if found:
                return found
        raise RuntimeError(f"no valid demo phone number for {country.code}")  # a bug in tables


# --- the database writer -------------------------------------------------------------


def _converter(column: Any) -> Callable[[Any], Any]:
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return lambda v: None if v is None else to_utc_text(v)
    if isinstance(kind, ISODate):
        return lambda v: None if v is None else v.isoformat()
    if isinstance(kind, DecimalText):
        return lambda v: None if v is None else str(Decimal(v))
    if isinstance(kind, Boolean):
        return lambda v: None if v is None else int(v)
    if isinstance(kind, JSON):
        return lambda v: None if v is None else json.dumps(v)
    return lambda v: v


class _Table:
    """A model's columns in mapper order, with how to store and log each value."""

    def __init__(self, model: type[Record]) -> None:
        self.model = model
        attrs = list(inspect(model).column_attrs)
        self.names = [a.key for a in attrs]
        self.store = [_converter(a.columns[0]) for a in attrs]
        # The change log holds JSON values (tracking.jsonable): text for times, dates
        # and money, the plain value for JSON and booleans.
        # Per column: 0 not in the change log, 1 logged as stored, 2 logged as the value.
        self.log_as = [
            0
            if a.key in model.bookkeeping
            else 2
            if isinstance(a.columns[0].type, JSON | Boolean)
            else 1
            for a in attrs
        ]
        self.sql = (
            f"INSERT INTO {model.__tablename__} ({', '.join(self.names)}) "
            f"VALUES ({', '.join('?' for _ in self.names)})"
        )


_CHANGE_SQL = (
    "INSERT INTO change_log (change_id, tx_id, device_id, entity, record_id, op, fields, at, "
    "author, schema_version, pushed_at, push_error) VALUES (?, ?, ?, ?, ?, 'insert', ?, ?, ?, ?, "
    "?, NULL)"
)
_DOC_SQL = (
    "INSERT INTO search_docs (entity, record_id, customer_id, title, body) VALUES (?, ?, ?, ?, ?)"
)
_KEY_SQL = "INSERT INTO identity_keys (entity, record_id, kind, value) VALUES (?, ?, ?, ?)"
_ORDER: tuple[type[Record], ...] = (CustomFieldDef, Customer, Contact, Interaction, FollowUp, Deal)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p)


def _phones_text(items: list[dict[str, Any]]) -> str:
    out: list[str] = []
    for item in items:
        out.append(item["value"])
        out.append(display_phone(item["value"]))
    return " ".join(out)


def _values_text(items: list[dict[str, Any]]) -> str:
    return " ".join(str(i.get("value") or "") for i in items)


def search_document(entity: str, r: dict[str, Any]) -> tuple[str | None, str, str] | None:
    """The text :func:`storage.search_index.document` makes for a new record with
    these values (same rules, computed from a plain row instead of an ORM object)."""
    if entity == "customer":
        addresses = " ".join(
            _join(a.get("street"), a.get("city"), a.get("region"), a.get("country"))
            for a in r["addresses"]
        )
        custom = " ".join(str(v) for v in r["custom"].values() if v is not None)
        body = _join(
            r["industry"], r["segment"], r["territory"], r["website"], _values_text(r["emails"]),
            _phones_text(r["phones"]), " ".join(r["tags"]), addresses, custom, r["notes"],
        )  # fmt: skip
        return r["id"], r["name"], body
    if entity == "contact":
        body = _join(
            r["title"], r["decision_role"], _values_text(r["emails"]), _phones_text(r["phones"]),
            r["notes"],
        )  # fmt: skip
        return r["customer_id"], r["name"], body
    if entity == "interaction":
        title = r["subject"] or _join(r["kind"].capitalize(), r["outcome"])
        return r["customer_id"], title, _join(r["notes"], r["feedback"])
    if entity == "followup":
        if r["status"] == "cancelled":
            return None
        return r["customer_id"], r["title"], r["notes"] or ""
    return None


def identity_keys(entity: str, r: dict[str, Any]) -> set[tuple[str, str]]:
    """What :func:`storage.identity.keys_of` gives for a new record with these values."""
    if entity not in ("customer", "contact"):
        return set()
    keys = {("email", normalised_email_key(i["value"])) for i in r["emails"] if i.get("value")}
    keys |= {("phone", i["value"]) for i in r["phones"] if i.get("value")}
    if entity == "customer":
        host = website_host(r["website"])
        if host:
            keys.add(("host", host))
    return keys


class _Writer:
    """Buffers rows and writes them with executemany, parents before children."""

    def __init__(
        self,
        conn: Connection,
        *,
        ids: random.Random,
        device_id: str,
        schema_version: str,
        pushed_at: datetime,
        total: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        self.conn = conn
        self.ids = ids
        self.tx_id = self.new_id()
        self.device_id = device_id
        self.schema_version = schema_version
        self.pushed_at = to_utc_text(pushed_at)
        self.tables = {m: _Table(m) for m in _ORDER}
        self.rows: dict[type[Record], list[tuple[Any, ...]]] = {m: [] for m in _ORDER}
        self.changes: list[tuple[Any, ...]] = []
        self.docs: list[tuple[Any, ...]] = []
        self.keys: list[tuple[Any, ...]] = []
        self.counts: dict[str, int] = {m.entity: 0 for m in _ORDER}
        self.done = 0
        self.total = total
        self.progress = progress

    def new_id(self) -> str:
        return _uuid(self.ids)

    def add(self, model: type[Record], row: dict[str, Any]) -> None:
        table = self.tables[model]
        values = [row[name] for name in table.names]
        stored = tuple(conv(v) for conv, v in zip(table.store, values))  # noqa: B905
        self.rows[model].append(stored)
        fields = {
            name: [None, v if how == 2 else kept]
            for name, how, v, kept in zip(table.names, table.log_as, values, stored)  # noqa: B905
            if how and v is not None
        }
        entity = model.entity
        # Demo records are sample data of this laptop only: their change rows are marked
        # as already pushed so a sync never sends them to the team's Hub, while the
        # history of each record still shows how it was made.
        self.changes.append(
            (
                self.new_id(), self.tx_id, self.device_id, entity, row["id"], json.dumps(fields),
                to_utc_text(row["created_at"]), row["created_by"], self.schema_version,
                self.pushed_at,
            )
        )  # fmt: skip
        doc = search_document(entity, row)
        if doc is not None:
            self.docs.append((entity, row["id"], *doc))
        for kind, value in sorted(identity_keys(entity, row)):
            self.keys.append((entity, row["id"], kind, value))
        self.counts[entity] += 1
        if len(self.changes) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for model in _ORDER:
            rows = self.rows[model]
            if rows:
                self.conn.exec_driver_sql(self.tables[model].sql, rows)
                rows.clear()
        for sql, rows in ((_DOC_SQL, self.docs), (_KEY_SQL, self.keys)):
            if rows:
                self.conn.exec_driver_sql(sql, rows)
                rows.clear()
        if self.changes:
            self.conn.exec_driver_sql(_CHANGE_SQL, self.changes)
            self.done += sum(1 for c in self.changes if c[3] != "custom_field")
            self.changes.clear()
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


# --- the generator ---------------------------------------------------------------------


class _Demo:
    def __init__(self, ws: Workspace, rng: random.Random, reps: list[_Rep], now: datetime):
        self.ws = ws
        self.rng = rng
        self.reps = reps
        self.now = now
        self.phones = _Phones(rng)
        self.names: set[str] = set()
        self.domains: set[str] = set()
        self.emails: set[str] = set()
        self.by_team: dict[int, list[_Rep]] = {}
        for rep in reps:
            self.by_team.setdefault(rep.team, []).append(rep)
        self.author = ws.author
        self.remind_before = timedelta(minutes=ws.settings.reminder_minutes_before)
        self.forced_today = 0
        self.falling_made = 0
        self.forced_week = 0

    # -- times ------------------------------------------------------------------
    def working_time(self, moment: datetime, tz: tzinfo, *, not_after: datetime) -> datetime:
        """The same local day (a weekday) at a working hour in the rep's zone."""
        rng = self.rng
        day = moment.astimezone(tz).date()
        hour = rng.choices(range(8, 18), weights=(5, 9, 10, 10, 6, 6, 9, 9, 8, 5))[0]
        minute = rng.choice((0, 5, 10, 15, 20, 30, 30, 40, 45, 50))
        for _ in range(14):
            if day.weekday() >= 5:
                day -= timedelta(days=day.weekday() - 4)
            when = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC)
            if when <= not_after:
                return when
            day -= timedelta(days=1)
        return not_after - timedelta(minutes=rng.randint(5, 600))

    def due_time(self, day: date, tz: tzinfo, hour: int | None = None) -> datetime:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        hour = hour if hour is not None else self.rng.choice((9, 10, 11, 12, 14, 15, 16, 17))
        return datetime(day.year, day.month, day.day, hour, 0, tzinfo=tz).astimezone(UTC)

    # -- names --------------------------------------------------------------------
    def company_name(self, country: _Country, city: _City) -> tuple[str, str]:
        """(name, core without legal form) not yet used by another demo customer."""
        rng = self.rng
        legal = rng.choice(country.legal)
        core = ""
        for attempt in range(25):
            pattern = rng.choice(country.patterns)
            if attempt > 15:
                pattern = "{S} & {S2} {T} {C}"
            first, second = rng.sample(country.surnames, 2)
            core = pattern.format(S=first, S2=second, T=rng.choice(country.trades), C=city.name)
            if name_key(core) not in self.names:
                break
        self.names.add(name_key(core))
        return f"{core} {legal}", core

    def domain(self, core: str, country: _Country, city: _City) -> str:
        base = _slug(core, german=country.code in ("DE", "AT", "CH"))
        for candidate in (base, f"{base}-{_slug(city.name)}"):
            name = f"{candidate}.{country.tld}"
            if name not in self.domains:
                self.domains.add(name)
                return name
        n = 2
        while f"{base}{n}.{country.tld}" in self.domains:
            n += 1
        self.domains.add(f"{base}{n}.{country.tld}")
        return f"{base}{n}.{country.tld}"

    def person(self, country: _Country) -> tuple[str, str]:
        return self.rng.choice(country.first_names), self.rng.choice(country.surnames)

    def address(self, country: _Country, city: _City, label: str) -> dict[str, Any]:
        rng = self.rng
        street, number = rng.choice(country.streets), rng.randint(1, 180)
        line = f"{number} {street}" if country.street_number_first else f"{street} {number}"
        if country.code == "FR":
            line = f"{number}, {street}"
        return {
            "label": label,
            "street": line,
            "city": city.name,
            "postcode": _postcode(rng, rng.choice(city.postcodes), country.code),
            "region": city.region,
            "country": country.code,
        }

    def unique_email(self, local: str, domain: str) -> str:
        address = f"{local}@{domain}"
        n = 2
        while address in self.emails:
            address = f"{local}{n}@{domain}"
            n += 1
        self.emails.add(address)
        return address


def generate_demo(
    ws: Workspace,
    *,
    customers: int = 200,
    contacts: int | None = None,
    interactions: int | None = None,
    followups: int | None = None,
    deals: int | None = None,
    reps: Sequence[str] | None = None,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> DemoReport:
    """Add a realistic demo dataset to ``ws`` in one transaction.

    Per customer by default: 3 contacts, 25 interactions, 5 follow-ups and 1.5 deals.
    ``reps`` are the owners' emails (the workspace's user alone when not given). The
    same seed makes the same data.
    """
    started = time.perf_counter()
    for name, value in (
        ("customers", customers),
        ("contacts", contacts),
        ("interactions", interactions),
        ("followups", followups),
        ("deals", deals),
    ):
        if value is not None and value < 0:
            raise ValidationError(name, "must not be negative")
    n_contacts = round(3 * customers) if contacts is None else contacts
    n_interactions = 25 * customers if interactions is None else interactions
    n_followups = 5 * customers if followups is None else followups
    n_deals = round(1.5 * customers) if deals is None else deals
    if n_followups and not n_interactions:
        raise ValidationError("followups", "follow-ups are made in interactions: give some")
    if customers == 0 and (n_contacts or n_interactions or n_deals):
        raise ValidationError("customers", "contacts, interactions and deals need customers")
    rep_emails = [r.strip() for r in (reps or [ws.author]) if r and r.strip()]
    if not rep_emails:
        raise ValidationError("reps", "give at least one rep")

    ids = random.Random(f"touchpoint-demo-ids-{seed}")
    tx_id = _uuid(random.Random(f"touchpoint-demo-ids-{seed}"))  # the writer's first id
    with ws.read() as session:
        taken = session.scalar(
            select(func.count()).select_from(Change).where(Change.tx_id == tx_id)
        )
        existing_defs = {
            d.key: d.type for d in session.scalars(select(CustomFieldDef)).all() if d.key
        }
    if taken:
        raise ValidationError(
            "seed", f"demo data made with seed {seed} is already here; use another seed"
        )

    now = ws.now()
    rng = random.Random(seed)
    team_of = {i: i * len(TEAMS) // len(rep_emails) for i in range(len(rep_emails))}
    rep_list = [
        _Rep(
            email,
            team_of[i],
            ws.tz if email == ws.author else ZoneInfo(TEAMS[team_of[i]][1]),
        )
        for i, email in enumerate(rep_emails)
    ]
    demo = _Demo(ws, rng, rep_list, now)
    total = customers + n_contacts + n_interactions + n_followups + n_deals

    session = ws.db.write_session()
    try:
        with session.begin():
            conn = session.connection()
            # A bigger page cache for this one bulk load: the UUID keys land all over
            # their indexes (the connection is closed afterwards).
            conn.exec_driver_sql("PRAGMA cache_size = -262144")
            writer = _Writer(
                conn,
                ids=ids,
                device_id=ws.device_id,
                schema_version=ws.schema_version,
                pushed_at=now,
                total=total,
                progress=progress,
            )
            _write_custom_defs(writer, demo, existing_defs)
            _generate(
                demo,
                writer,
                customers=customers,
                contacts=n_contacts,
                interactions=n_interactions,
                followups=n_followups,
                deals=n_deals,
                custom_keys={
                    key for key, kind, *_ in CUSTOM_FIELDS if existing_defs.get(key, kind) == kind
                },
            )
            writer.flush()
            if writer.counts["interaction"] > 50_000:
                # Merge the many index segments a bulk load leaves, so searches stay fast.
                for table in search_index.FTS_TABLES:
                    conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('optimize')")
    finally:
        session.close()
    return DemoReport(counts=dict(writer.counts), seconds=time.perf_counter() - started)


def _stamp(row: dict[str, Any], by: str, at: datetime, updated: datetime | None = None) -> None:
    row["created_at"] = at
    row["created_by"] = by
    row["updated_at"] = updated or at
    row["updated_by"] = by
    row.setdefault("deleted_at", None)


def _write_custom_defs(writer: _Writer, demo: _Demo, existing: dict[str, str]) -> None:
    at = demo.now - timedelta(days=800)
    for key, label, kind, choices in CUSTOM_FIELDS:
        if key in existing:
            continue
        row = {"id": writer.new_id(), "key": key, "label": label, "type": kind,
               "choices": list(choices)}  # fmt: skip
        _stamp(row, demo.author, at)
        writer.add(CustomFieldDef, row)


def _generate(
    demo: _Demo,
    writer: _Writer,
    *,
    customers: int,
    contacts: int,
    interactions: int,
    followups: int,
    deals: int,
    custom_keys: set[str],
) -> None:
    rng = demo.rng
    codes = list(COUNTRIES)
    weights = [COUNTRIES[c].weight for c in codes]
    if len(demo.reps) == 1:
        # One rep works mostly around home; a few accounts abroad.
        home = demo.ws.settings.default_region.upper()
        weights = [w * (8 if c == home else 1) for c, w in zip(codes, weights, strict=True)]

    plans = []
    dupes = min(8, customers // 25)
    for n in range(customers):
        country = COUNTRIES[rng.choices(codes, weights=weights)[0]]
        roll = rng.random()
        status = "active" if roll < 0.72 else "prospect" if roll < 0.9 else "former"
        individual = rng.random() < 0.08
        segment = rng.choices(("Key account", "Mid-market", "Small business"), (15, 45, 40))[0]
        if individual:
            segment = "Small business"
        weight = {"Key account": 3.0, "Mid-market": 1.5, "Small business": 0.7}[segment]
        weight *= {"active": 1.0, "prospect": 0.25, "former": 0.5}[status]
        weight *= rng.lognormvariate(0, 0.5)
        plans.append(
            {
                "n": n,
                "country": country,
                "status": status,
                "individual": individual,
                "segment": segment,
                "weight": weight,
                "dupe_of": None,
            }
        )
    # The last few are near-duplicates of earlier organisations, for the duplicates screen.
    originals = [p for p in plans[: max(0, customers - dupes)] if not p["individual"]]
    for k, plan in enumerate(plans[customers - dupes :] if dupes else []):
        if k < len(originals):
            source = originals[(k * 7919) % len(originals)]
            plan.update(country=source["country"], individual=False, dupe_of=source, weight=0.2)
    contact_counts = _apportion(
        rng, contacts, [0.3 if p["individual"] else p["weight"] ** 0.5 for p in plans]
    )
    interaction_counts = _apportion(rng, interactions, [p["weight"] for p in plans])
    followup_counts = _apportion(rng, followups, [float(c) for c in interaction_counts])
    deal_counts = _apportion(
        rng, deals, [0.4 if p["status"] == "prospect" else p["weight"] ** 0.5 for p in plans]
    )
    for plan, nc, ni, nf, nd in zip(
        plans, contact_counts, interaction_counts, followup_counts, deal_counts, strict=True
    ):
        _customer(
            demo,
            writer,
            plan,
            n_contacts=nc,
            n_interactions=ni,
            n_followups=nf,
            n_deals=nd,
            custom_keys=custom_keys,
        )


def _owner(demo: _Demo, country: _Country) -> _Rep:
    team = next(i for i, t in enumerate(TEAMS) if country.code in t[2])
    members = demo.by_team.get(team) or demo.reps
    return demo.rng.choice(members)


def _customer(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    n_contacts: int,
    n_interactions: int,
    n_followups: int,
    n_deals: int,
    custom_keys: set[str],
) -> None:
    rng = demo.rng
    now = demo.now
    country: _Country = plan["country"]
    status: str = plan["status"]
    owner = _owner(demo, country)
    city = rng.choices(country.cities, weights=country.city_weights)[0]
    german = country.code in ("DE", "AT", "CH")
    customer_id = writer.new_id()
    source = plan["dupe_of"]

    # Names and ways to reach them.
    if plan["individual"]:
        first, last = demo.person(country)
        name = f"{first} {last}"
        domain = None
        local = _slug(f"{first}.{last}", german).replace("-", ".")
        emails = [
            {"label": "home", "value": demo.unique_email(local, rng.choice(country.free_mail))}
        ]
        website = None
        phones = [{"label": "mobile", "value": demo.phones.mobile(country)}]
    elif source is not None:
        name, domain, emails, phones, website = _near_duplicate(demo, source, country, city)
    else:
        name, core = demo.company_name(country, city)
        domain = demo.domain(core, country, city)
        emails = [
            {
                "label": "work",
                "value": demo.unique_email(
                    rng.choice(("info", "kontakt" if german else "contact", "office", "sales")),
                    domain,
                ),
            }
        ]
        website = f"https://www.{domain}"
        phones = [{"label": "work", "value": demo.phones.fixed(country, city)}]
        if rng.random() < 0.3:
            phones.append({"label": "service", "value": demo.phones.fixed(country, city)})
    plan["name"], plan["domain"], plan["emails"], plan["phones"], plan["website"] = (
        name, domain, emails, phones, website,
    )  # fmt: skip
    plan["city"] = city

    # When things happened.
    two_years = now - timedelta(days=730)
    quiet = status == "active" and rng.random() < 0.13
    if status == "former":
        end = now - timedelta(days=rng.randint(150, 540))
        start = two_years
    elif status == "prospect":
        end = now
        start = now - timedelta(days=rng.randint(20, 200))
    else:
        end = now - timedelta(days=rng.randint(31, 120)) if quiet else now
        start = two_years - timedelta(days=rng.randint(0, 400))
    span = (end - start).total_seconds()
    # More touches lately than long ago, and a busy last four weeks.
    recent = min(span, 28 * 86400)
    moments = sorted(
        end
        - timedelta(
            seconds=rng.uniform(0, recent)
            if rng.random() < 0.12
            else span * (1 - math.sqrt(rng.random()))
        )
        for _ in range(n_interactions)
    )
    first_touch = moments[0] if moments else end - timedelta(days=rng.randint(1, 300))
    created = first_touch - timedelta(days=rng.randint(3, 60), minutes=rng.randint(0, 600))
    created = demo.working_time(created, owner.tz, not_after=now - timedelta(days=1))
    confirmed = None
    updated = created
    if rng.random() < 0.3:  # the rep checked the profile since
        confirmed = created + (now - created) * rng.uniform(0.3, 1.0)
        confirmed = max(created, demo.working_time(confirmed, owner.tz, not_after=now))
        updated = confirmed

    industry = rng.choice(INDUSTRIES)
    tags = rng.sample(TAGS, rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0])
    if plan["segment"] == "Key account" and "key" not in tags:
        tags.insert(0, "key")
    fleet = rng.randint(2, 40) if plan["segment"] != "Key account" else rng.randint(40, 400)
    custom: dict[str, Any] = {}
    if "fleet_size" in custom_keys and not plan["individual"]:
        custom["fleet_size"] = fleet
    if "contract_end" in custom_keys and status == "active" and rng.random() < 0.6:
        custom["contract_end"] = (now + timedelta(days=rng.randint(-30, 700))).date().isoformat()
    if "tier" in custom_keys and status != "prospect":
        custom["tier"] = {"Key account": "Gold", "Mid-market": "Silver"}.get(
            plan["segment"], "Bronze"
        )
    potential = {
        "Key account": (150_000, 900_000),
        "Mid-market": (30_000, 150_000),
        "Small business": (3_000, 30_000),
    }[plan["segment"]]
    notes = _customer_notes(rng, plan, country, city, fleet)
    row = {
        "id": customer_id,
        "name": name,
        "kind": "individual" if plan["individual"] else "organisation",
        "status": status,
        "industry": None if plan["individual"] and rng.random() < 0.5 else industry,
        "segment": plan["segment"],
        "owner": owner.email,
        "territory": TERRITORY_OF[country.code],
        "website": website,
        "addresses": (
            [demo.address(country, city, "home" if plan["individual"] else "office")]
            if rng.random() < 0.95
            else []
        ),
        "phones": phones,
        "emails": emails,
        "tags": tags,
        "custom": custom,
        "notes": notes,
        "yearly_potential": Decimal(rng.randrange(*potential, 500)).quantize(Decimal("0.01")),
        "currency": country.currency,
        "confirmed_at": confirmed,
        "merged_into_id": None,
    }
    _stamp(row, owner.email, created, updated)
    writer.add(Customer, row)

    contacts = [
        _contact(demo, writer, plan, customer_id=customer_id, owner=owner, created=created, index=k)
        for k in range(n_contacts)
    ]
    touches = _interactions(
        demo, writer, plan, customer_id=customer_id, owner=owner, moments=moments, contacts=contacts
    )
    _followups(demo, writer, customer_id, touches, n_followups)
    _deals(
        demo,
        writer,
        plan,
        customer_id=customer_id,
        owner=owner,
        created=created,
        touches=touches,
        count=n_deals,
    )


def _near_duplicate(
    demo: _Demo, source: dict[str, Any], country: _Country, city: _City
) -> tuple[str, str | None, list[dict[str, Any]], list[dict[str, Any]], str | None]:
    """A second record of an existing company, as a colleague or an import typed it."""
    rng = demo.rng
    name: str = source["name"]
    style = rng.randrange(4)
    if style == 0:  # "Acme GmbH" -> "ACME G.m.b.H."
        words = name.split()
        legal = words[-1]
        dotted = ".".join(legal.replace(".", "")) + "." if legal.isalpha() else legal
        variant = " ".join([*(w.upper() for w in words[:-1]), dotted])
    elif style == 1:
        variant = _ascii(name)
        if variant == name:
            variant = name.replace(" & ", " and ") if " & " in name else name.upper()
    elif style == 2:
        variant = name.replace(" & ", " + ") if " & " in name else f"{name} ({city.name})"
    else:
        variant = name.rsplit(" ", 1)[0]  # the legal form left out
    emails: list[dict[str, Any]] = []
    phones: list[dict[str, Any]] = []
    website = None
    domain = source["domain"]
    shared = rng.randrange(3)
    if shared == 0:
        website = source["website"].replace("https://www.", "http://")
    elif shared == 1:
        emails = [dict(source["emails"][0])]
    else:
        phones = [dict(source["phones"][0])]
    if domain and not emails:
        emails = [
            {
                "label": "work",
                "value": demo.unique_email(
                    "einkauf" if country.code in ("DE", "AT") else "purchasing", domain
                ),
            }
        ]
    if not phones:
        phones = [{"label": "work", "value": demo.phones.fixed(country, city)}]
    return variant, domain, emails, phones, website


def _customer_notes(
    rng: random.Random, plan: dict[str, Any], country: _Country, city: _City, fleet: int
) -> str | None:
    if rng.random() < 0.15:
        return None
    if plan["individual"]:
        return rng.choice(
            (
                "Runs a small farm; one pallet truck, asks for service once a year.",
                "Owner-operator, buys used trucks; price matters most.",
                f"Small workshop in {city.name}; happy with the last maintenance visit.",
            )
        )
    parts = [
        rng.choice(
            (
                f"Family-owned since {rng.randint(1890, 2005)}, {rng.randint(2, 6)} sites "
                f"around {city.name}.",
                f"Headquarters in {city.name}; warehouse runs two shifts.",
                f"Part of a group; purchasing decisions are made in {city.name}.",
            )
        ),
        f"Fleet of {fleet} trucks, "
        + rng.choice(("mostly diesel, moving to electric.", "all electric.", "mixed brands.")),
        rng.choice(
            (
                f"Maintenance contract renews in {rng.choice(MONTHS)}.",
                "Invoices go to the head office, not the site.",
                f"Competitor {rng.choice(COMPETITORS)} is strong here.",
                "Pays on time; wants one invoice per month.",
                "Interested in operator training for new drivers.",
            )
        ),
    ]
    if plan["status"] == "former":
        parts.append("Moved their service to a competitor last year after a price dispute.")
    return " ".join(parts)


def _contact(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: _Rep,
    created: datetime,
    index: int,
) -> dict[str, Any]:
    rng = demo.rng
    country: _Country = plan["country"]
    german = country.code in ("DE", "AT", "CH")
    if plan["individual"] and index == 0:
        first, last = plan["name"].split(" ", 1)
    else:
        first, last = demo.person(country)
    local = _slug(f"{first}.{last}", german).replace("-", ".")
    domain = plan["domain"] or rng.choice(country.free_mail)
    emails = [] if rng.random() < 0.08 else [
        {"label": "work", "value": demo.unique_email(local, domain)}
    ]  # fmt: skip
    phones = []
    if rng.random() < 0.75:
        phones.append({"label": "mobile", "value": demo.phones.mobile(country)})
    if rng.random() < 0.3:
        phones.append({"label": "work", "value": demo.phones.fixed(country, plan["city"])})
    if plan["individual"] and index == 0:  # the customer is this person
        emails = [dict(e) for e in plan["emails"]]
        phones = [dict(p) for p in plan["phones"]]
    title = rng.choice(country.titles) if rng.random() < 0.9 else None
    role = None
    if title:
        boss = any(
            w in title
            for w in ("Director", "Geschäftsführ", "CFO", "général", "Direct", "Amministratore")
        )
        role = (
            rng.choice(("decision maker", "influencer"))
            if boss
            else rng.choices(
                ("user", "influencer", "champion", "gatekeeper", "blocker", "other"),
                (30, 25, 15, 15, 5, 10),
            )[0]
        )
    channel = rng.choices((None, "email", "phone", "visit", "message"), (10, 35, 35, 15, 5))[0]
    notes = None
    if rng.random() < 0.25:
        notes = rng.choice(
            (
                "Prefers calls before 10:00.",
                "Speaks German and English.",
                "Signs off orders up to 50k.",
                "On parental leave until spring.",
                "Very detail-oriented; send everything in writing.",
                "Knows our service team well; ask for Josef in the workshop.",
            )
        )
    row = {
        "id": writer.new_id(),
        "customer_id": customer_id,
        "name": f"{first} {last}",
        "title": title,
        "decision_role": role,
        "emails": emails,
        "phones": phones,
        "preferred_channel": channel,
        "do_not_contact": rng.random() < 0.02,
        "notes": notes,
        "merged_into_id": None,
        "photo": None,  # made-up people have no pictures: their initials are shown
    }
    _stamp(row, owner.email, created + timedelta(minutes=rng.randint(1, 90)))
    writer.add(Contact, row)
    return row


def _words(rng: random.Random, demo: _Demo, plan: dict[str, Any], contact: str) -> dict[str, Any]:
    """The details of one conversation, shared by its subject and its notes."""
    now = demo.now
    return dict(
        qty=rng.choice((2, 3, 4, 5, 6, 8, 10, 12, 15, 20)),
        product=rng.choice(PRODUCTS),
        contact=contact,
        month=rng.choice(MONTHS),
        competitor=rng.choice(COMPETITORS),
        week=rng.randint(2, 51),
        day=rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")),
        year=now.year + rng.choice((0, 1)),
        issue=rng.choice(ISSUES),
        city=plan["city"].name,
        invoice=f"RE-{now.year - rng.choice((0, 1))}-{rng.randint(1000, 99999)}",
        pct=rng.choice((2, 3, 3.5, 4, 5)),
    )


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _scores(rng: random.Random, count: int, falling: bool) -> list[int]:
    """Satisfaction over time, oldest first; a falling customer ends clearly lower."""
    base = rng.uniform(3.1, 4.6)
    drift = rng.gauss(0, 0.5)  # some customers warm up over the years, some cool down
    scores = [
        max(1, min(5, round(base + drift * (k / max(1, count) - 0.5) + rng.gauss(0, 0.45))))
        for k in range(count)
    ]
    if falling and count >= 6:
        high = max(3, min(5, round(base + 0.5)))
        previous = [high, high, max(3, high - rng.choice((0, 1)))]
        low = max(1, math.floor(sum(previous) / 3 - 1.5))
        latest = [low, min(5, low + rng.choice((0, 1))), max(1, low - rng.choice((0, 1)))]
        scores[-6:] = previous + latest
        summary = metrics.customer_satisfaction(list(reversed(scores)))
        if not summary.falling:
            scores[-3:] = [max(1, min(previous) - 2)] * 3
    return scores


def _interactions(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: _Rep,
    moments: list[datetime],
    contacts: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    rng = demo.rng
    now = demo.now
    country: _Country = plan["country"]
    team = demo.by_team.get(owner.team) or [owner]
    depth = rng.choices(("relationship", "transactional", "project", "one-off"), (45, 30, 17, 8))[0]
    planned: list[dict[str, Any]] = []
    for moment in moments:
        rep = owner if len(team) == 1 or rng.random() < 0.94 else rng.choice(team)
        occurred = demo.working_time(moment, rep.tz, not_after=now - timedelta(minutes=10))
        kind = _weighted(rng, _KIND_WEIGHTS)
        outcome: str | None
        if kind == "call":
            outcome = _weighted(rng, _CALL_OUTCOMES)
        elif kind in ("visit", "meeting"):
            outcome = _weighted(rng, _MEET_OUTCOMES)
        elif kind == "email":
            outcome = rng.choice((None, None, "connected"))
        else:
            outcome = None
        if outcome == "own":
            outcome = rng.choice(OWN_OUTCOMES)
        reached = outcome not in ("voicemail", "no answer")
        scorable = (
            reached
            and kind not in ("note", "message")
            and (kind != "email" or outcome == "connected")
        )
        planned.append(
            {
                "rep": rep,
                "occurred": occurred,
                "kind": kind,
                "outcome": outcome,
                "scored": scorable and rng.random() < 0.86,
            }
        )
    planned.sort(key=lambda p: p["occurred"])
    scored = [p for p in planned if p["scored"]]
    eligible = plan["status"] == "active" and len(scored) >= 6
    # A few customers cool down; even a small demo shows one on the watch list.
    falling = eligible and (rng.random() < 0.07 or not demo.falling_made)
    demo.falling_made += falling
    for p, score in zip(scored, _scores(rng, len(scored), falling), strict=True):
        p["satisfaction"] = score
        if score <= 2 and p["outcome"] in ("connected", None):
            p["outcome"] = "complaint"

    made = []
    for p in planned:
        kind, outcome, rep = p["kind"], p["outcome"], p["rep"]
        present = []
        if contacts:
            most = 3 if kind in ("visit", "meeting") else 1
            present = rng.sample(contacts, min(len(contacts), rng.randint(1, most)))
        contact_first = present[0]["name"].split(" ")[0] if present else "the buyer"
        satisfaction = p.get("satisfaction")
        if outcome in ("voicemail", "no answer"):
            subject = None if rng.random() < 0.7 else "Call back"
            notes = rng.choice(
                (f"Tried to reach {contact_first} about the quote; left a message.",
                 f"No answer; will try {contact_first} again tomorrow.",
                 "Voicemail: asked for a call back about the delivery.", None)
            )  # fmt: skip
        else:
            pool = TOPICS if rng.random() < 0.45 else EVERYDAY_TOPICS
            subject_t, notes_t = pool[rng.randrange(len(pool))]
            if outcome == "complaint" and rng.random() < 0.7:
                subject_t, notes_t = TOPICS[5]
            words = _words(rng, demo, plan, contact_first)
            subject = subject_t.format(**words)
            if kind == "call" and rng.random() < 0.35:
                subject = None
            notes = _sentence(notes_t.format(**words))
            if kind == "email":
                notes = f"Email from {contact_first}: {notes}"
        feedback = None
        if satisfaction is not None and rng.random() < 0.8:
            own = country.feedback.get(satisfaction) if rng.random() < 0.3 else None
            feedback = rng.choice(own or FEEDBACK_EN[satisfaction]).format(
                competitor=rng.choice(COMPETITORS)
            )
        duration = {
            "call": rng.randint(2, 25),
            "visit": rng.choice((30, 45, 60, 60, 90, 120)),
            "meeting": rng.choice((30, 45, 60, 90)),
            "email": None,
            "message": None,
            "note": None,
        }[kind]
        if outcome in ("voicemail", "no answer"):
            duration = 1
        direction = {
            "call": "outbound" if rng.random() < 0.7 else "inbound",
            "email": "inbound" if rng.random() < 0.5 else "outbound",
            "message": "inbound",
            "note": None,
        }.get(kind, "outbound")
        logged = min(now, p["occurred"] + timedelta(minutes=(duration or 0) + rng.randint(2, 240)))
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "kind": kind,
            "direction": direction,
            "occurred_at": p["occurred"],
            "duration_minutes": duration,
            "contact_ids": [c["id"] for c in present],
            "subject": subject,
            "notes": notes,
            "outcome": outcome,
            "satisfaction": satisfaction,
            "feedback": feedback,
            "depth": depth if rng.random() < 0.8 else None,
            "rep": rep.email,
        }
        _stamp(row, rep.email, logged)
        writer.add(Interaction, row)
        row["_rep"] = rep
        made.append(row)
    return made


def _promise(rng: random.Random, subject: str | None, demo: _Demo) -> str:
    for word, titles in PROMISES:
        if subject and word in subject:
            return rng.choice(titles).format(year=demo.now.year + 1, month=rng.choice(MONTHS))
    return rng.choice(DEFAULT_PROMISES)


STALE_PROMISE = timedelta(days=45)


def _followups(
    demo: _Demo,
    writer: _Writer,
    customer_id: str,
    touches: list[dict[str, Any]],
    count: int,
) -> None:
    if not count or not touches:
        return
    rng = demo.rng
    now = demo.now
    # Promises come from the conversations that reached someone, the recent ones more.
    reached = [t for t in touches if t["outcome"] not in ("voicemail", "no answer")] or touches
    weights = [1.0 + 3.0 * k / len(reached) for k in range(len(reached))]
    for source in rng.choices(reached, weights=weights, k=count):
        rep: _Rep = source["_rep"]
        occurred: datetime = source["occurred_at"]
        local_day = occurred.astimezone(rep.tz).date()
        today = now.astimezone(rep.tz).date()
        due = demo.due_time(local_day + timedelta(days=rng.choice((1, 2, 3, 5, 7, 7, 14, 21))),
                            rep.tz)  # fmt: skip
        # The user of this laptop has some promises due today and this week.
        if rep.email == demo.author and now - occurred < timedelta(days=6):
            if demo.forced_today < 4:
                demo.forced_today += 1
                due = demo.due_time(today, rep.tz, hour=rng.choice((8, 11, 14, 16, 17)))
            elif demo.forced_week < 8:
                demo.forced_week += 1
                due = demo.due_time(today + timedelta(days=rng.randint(1, 6)), rep.tz)
        due = max(due, source["created_at"] + timedelta(minutes=30))
        created: datetime = source["created_at"]
        status, done_at = "open", None
        roll = rng.random()
        if due <= now:
            if roll < 0.70:
                status = "done"
                done_at = created + (due - created) * rng.uniform(0.2, 1.0)
            elif roll < 0.86:
                late_by = timedelta(hours=rng.uniform(2, 240))
                if due + late_by < now:
                    status, done_at = "done", due + late_by
            elif roll < 0.88:
                status = "cancelled"
        elif roll < 0.12:
            status = "done"
            done_at = created + (now - created) * rng.uniform(0.3, 1.0)
        elif roll < 0.14:
            status = "cancelled"
        if status == "open" and now - due > STALE_PROMISE:
            # Nobody leaves a promise open for months: old ones were done late in the end,
            # so the overdue list holds the last weeks' slips, as a real rep's does.
            status = "done"
            done_at = min(due + timedelta(days=rng.uniform(1, 30)), now - timedelta(hours=1))
        updated = done_at or created
        if status == "cancelled":
            updated = created + (min(due, now) - created) * rng.uniform(0.1, 1.0)
        contact_ids = source["contact_ids"]
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "contact_id": rng.choice(contact_ids) if contact_ids and rng.random() < 0.6 else None,
            "interaction_id": source["id"],
            "title": _promise(rng, source["subject"], demo),
            "notes": None if rng.random() < 0.6 else f"Promised during the {source['kind']}.",
            "due_at": due,
            "remind_at": due - demo.remind_before,
            "priority": rng.choices(("normal", "high", "low"), (70, 20, 10))[0],
            "status": status,
            "done_at": done_at,
            "assigned_to": rep.email,
        }
        _stamp(row, rep.email, created, max(updated, created))
        writer.add(FollowUp, row)


def _deals(
    demo: _Demo,
    writer: _Writer,
    plan: dict[str, Any],
    *,
    customer_id: str,
    owner: _Rep,
    created: datetime,
    touches: list[dict[str, Any]],
    count: int,
) -> None:
    rng = demo.rng
    now = demo.now
    country: _Country = plan["country"]
    status = plan["status"]
    low, high = {"Key account": (20_000, 400_000), "Mid-market": (5_000, 80_000),
                 "Small business": (800, 15_000)}[plan["segment"]]  # fmt: skip
    last = touches[-1]["occurred_at"] if touches else now
    for _ in range(count):
        if status == "prospect":
            stage = rng.choices(("lead", "qualified", "proposal", "lost"), (40, 30, 20, 10))[0]
        elif status == "former":
            stage = rng.choices(("won", "lost"), (60, 40))[0]
        else:
            stage = rng.choices(
                ("lead", "qualified", "proposal", "negotiation", "won", "lost"),
                (12, 14, 16, 10, 33, 15),
            )[0]
        opened = created + (min(last, now) - created) * rng.uniform(0.0, 0.9)
        closed_at = None
        if stage in ("won", "lost"):
            closed_at = min(now, opened + timedelta(days=rng.randint(7, 120)))
            expected = (closed_at + timedelta(days=rng.randint(-20, 20))).date()
        else:
            expected = (now + timedelta(days=rng.randint(7, 180))).date()
        row = {
            "id": writer.new_id(),
            "customer_id": customer_id,
            "title": rng.choice(DEAL_TITLES).format(**_words(rng, demo, plan, "")),
            "value": Decimal(rng.randrange(low, high, 50)).quantize(Decimal("0.01")),
            "currency": country.currency,
            "stage": stage,
            "expected_close": expected,
            "closed_at": closed_at,
        }
        _stamp(row, owner.email, opened, closed_at)
        writer.add(Deal, row)
