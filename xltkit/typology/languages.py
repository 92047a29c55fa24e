"""The real study's languages: XTREME-R's 50, by ISO 639-3 code, with what the analysis
needs to know about each (who counts as low-resource, who is a close relative of whom).

- ``iso1``: the ISO 639-1 code (``fi``), where there is one; ``name``: the English name.
  Which codes and names a dataset's configs use is the task registry's business
  (:mod:`xltkit.tasks.hub`), not this table's.
- ``joshi``: the resource class of Joshi et al. (2020), "The State and Fate of Linguistic
  Diversity and Inclusion in the NLP World", ACL, taken from their ``lang2tax.txt`` as copied
  in MaLA-LM/LangResourceAtlas (``Joshi-et-al-6-classes.json``; ../shared/REAL_STUDY.md sec. 6).
  Classes 0-2 are low-resource.  Finnish and Hungarian are class 4, and are XTREME-R test
  languages themselves.
- ``genus``: the WALS genus (Dryer & Haspelmath 2013), entered by hand for this table; two
  languages of one genus are close relatives (Estonian for Finnish).  URIEL+'s genetic
  distance was not used: it puts Estonian (ekk) farther from Finnish than Hungarian.

ISO 639-3 choices for macrolanguages follow URIEL+ (which has Grambank data for them): ekk
(Standard Estonian), arb (Standard Arabic), swh (Swahili), zsm (Malay), pes (Persian), cmn
(Mandarin), azj (North Azerbaijani), quz (Cusco Quechua, XCOPA's).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageInfo:
    iso3: str
    iso1: str
    name: str
    joshi: int
    genus: str

    @property
    def low_resource(self) -> bool:
        return self.joshi <= 2


_TABLE = """
afr af Afrikaans 3 Germanic
arb ar Arabic 5 Semitic
azj az Azerbaijani 1 Turkic
bul bg Bulgarian 3 Slavic
ben bn Bengali 3 Indic
deu de German 5 Germanic
ell el Greek 3 Greek
eng en English 5 Germanic
spa es Spanish 5 Romance
ekk et Estonian 3 Finnic
eus eu Basque 4 Basque
pes fa Persian 4 Iranian
fin fi Finnish 4 Finnic
fra fr French 5 Romance
guj gu Gujarati 1 Indic
heb he Hebrew 3 Semitic
hin hi Hindi 4 Indic
hat ht Haitian 2 Creoles
hun hu Hungarian 4 Ugric
ind id Indonesian 3 Malayo-Sumbawan
ita it Italian 4 Romance
jpn ja Japanese 5 Japanese
jav jv Javanese 1 Javanese
kat ka Georgian 3 Kartvelian
kaz kk Kazakh 3 Turkic
kor ko Korean 4 Korean
lit lt Lithuanian 3 Baltic
mal ml Malayalam 1 Southern-Dravidian
mar mr Marathi 2 Indic
zsm ms Malay 3 Malayo-Sumbawan
mya my Burmese 1 Burmese-Lolo
nld nl Dutch 4 Germanic
pan pa Punjabi 2 Indic
pol pl Polish 4 Slavic
por pt Portuguese 4 Romance
quz qu Quechua 1 Quechuan
ron ro Romanian 3 Romance
rus ru Russian 4 Slavic
swh sw Swahili 2 Bantoid
tam ta Tamil 3 Southern-Dravidian
tel te Telugu 1 South-Central-Dravidian
tha th Thai 3 Kam-Tai
tgl tl Tagalog 3 Greater-Central-Philippine
tur tr Turkish 4 Turkic
ukr uk Ukrainian 3 Slavic
urd ur Urdu 3 Indic
vie vi Vietnamese 4 Viet-Muong
wol wo Wolof 2 Northern-Atlantic
yor yo Yoruba 2 Defoid
cmn zh Chinese 5 Chinese
"""

LANGUAGES: dict[str, LanguageInfo] = {}
for _line in _TABLE.strip().splitlines():
    _iso3, _iso1, _name, _joshi, _genus = _line.split()
    LANGUAGES[_iso3] = LanguageInfo(_iso3, _iso1, _name, int(_joshi), _genus)
BY_ISO1 = {info.iso1: info for info in LANGUAGES.values()}


def info(code: str) -> LanguageInfo:
    """The table's row of an ISO 639-3 code, with an error naming the allowed ones."""
    try:
        return LANGUAGES[code]
    except KeyError:
        hint = f" (ISO 639-1 {code!r} is {BY_ISO1[code].iso3!r} here)" if code in BY_ISO1 else ""
        raise ValueError(f"unknown language {code!r}{hint}; the real study's languages are XTREME-R's, by ISO "
                         f"639-3 code: {', '.join(LANGUAGES)}") from None


def iso3(code1: str) -> str:
    return BY_ISO1[code1].iso3


def relatives(a: str, b: str) -> bool:
    """Whether two of the table's languages are close relatives (one WALS genus), never a language with itself."""
    return a != b and a in LANGUAGES and b in LANGUAGES and LANGUAGES[a].genus == LANGUAGES[b].genus
