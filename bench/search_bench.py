"""Benchmark of the archive's search (issues 6, 8 and 15): import, index size, query latency, more like this,
the first search after an index change and each server process's memory, against SQLite FTS5.

    .venv/bin/python bench/search_bench.py [--proposals 20000] [--queries 200] [--database sqlite|URL]
                                          [--translated SHARE] [--save FILE] [--grown-from FILE]
                                          [--server-rounds N]

1. Generates N proposals of policy prose (Zipf-distributed English vocabulary, about 20% Russian, a few Chinese;
   Markdown bodies with headings and lists; dimensions, member states, think tanks, authors, keywords, years
   2005-2026) and writes them as a JSONL file in the format of ``flask archive import``.
2. Imports the file into a fresh database in a temporary folder through the real importer as ``flask archive
   import`` runs it (``expert_platform.archive.importer``), indexing as in production by the backend the
   database would have: Whoosh on SQLite (the search outbox, after the commit), the PostgreSQL backend
   (``SEARCH_BACKEND=postgres``, in the import's transaction) on PostgreSQL, whose Whoosh index is then built
   from the database (``flask search rebuild``). Prints the import rate (proposals per second, indexing
   included).
3. Runs a query mix (rare word, common words, phrase, facet filter, Russian word) through the JSON API
   (``/api/v1/proposals``, facets and highlights included) with a Flask test client: warms up, then times each
   kind ``--queries`` times and prints p50 and p95 per kind and overall. The same queries are also timed on the
   search service alone, to show what the API adds; then with nothing cached, and as the first search after an
   index change (a public proposal changed through the outbox).
4. Loads the same corpus into a plain sqlite3 database with an FTS5 table (``porter unicode61``), runs the
   same queries there (facet counts with GROUP BY over the matches, snippets with ``snippet()``), and prints
   each figure beside Whoosh's with the ratio Whoosh / FTS5.
5. On PostgreSQL, the same mix on the PostgreSQL backend with the totals of both side by side; more like this
   (a proposal page's first view) on each backend.
6. Starts one gunicorn worker per backend as ``make serve`` does, sends it the mix and proposal pages over
   HTTP, and prints each process's memory (peak and at the end) with its latencies.
7. Prints issue 15's acceptance table; ``--save`` keeps the figures, ``--grown-from`` prints how each grew
   from a saved run (20,000 to 100,000 proposals).

Nothing is written outside the temporary folder (``--keep`` keeps it); a PostgreSQL URL gets a fresh schema,
dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

TARGET_P50_MS = 20.0
TARGET_P95_MS = 100.0
TARGET_IMPORT_PER_SECOND = 500.0
PER_PAGE = 20

# --- vocabulary -----------------------------------------------------------------------------------

def _words(text: str) -> list[str]:
    return text.split()


#: Function words: frequent, mostly stop words for the English analyzer, as in real prose.
ENGLISH_FUNCTION_WORDS = _words("""the of and to in a for on with by as that is are be this from at which or its an
their should will can between these other through all into such not more also has have been it they where
while both each than within across among may must would under over about""")

#: Content words of policy prose, most frequent first (their rank gives their Zipf weight).
ENGLISH_CONTENT_WORDS = _words("""security cooperation regional states member development confidence measures
countries economic information proposal national border water energy trade joint international
management support exchange implementation framework capacity experts institutions agreement
dialogue transport system public risk environmental program policy data standards building access
infrastructure research training network mechanism partners assessment level resources sustainable
private sector investment climate local monitoring disaster response government community education health
financial communication stability early warning practices integration transparency legal protection
agencies platform markets region programme connectivity strategic planning services digital technical
centre governance human rights youth cultural heritage tourism customs corridor logistics railway
maritime aviation ports supply chains food agriculture rural urban cities migration labour employment
social inclusion women gender equality poverty reduction growth finance banking payments currency
investment projects facility fund grants loans budget fiscal taxation revenue industrial manufacturing
innovation science universities scholarships mobility students academic knowledge sharing tools
indicators statistics reporting evaluation review lessons priorities objectives outcomes results
timeline phases pilot scale funding secretariat council delegations consensus meetings workshops
seminars conferences forum roundtable working group task force committee coordination ministries
authorities officials diplomats military forces exercises notification observers visits hotlines
arms control disarmament nonproliferation terrorism extremism radicalisation trafficking drugs
narcotics crime corruption laundering cyber threats incidents attacks resilience critical
vulnerabilities emergency preparedness relief recovery reconstruction floods earthquakes droughts
desertification glaciers rivers basins irrigation sanitation pollution emissions renewable solar wind
hydropower grids electricity gas pipelines oil efficiency conservation biodiversity forests wildlife
land degradation soil fisheries oceans coastal islands mountains steppe arid ecosystems adaptation
mitigation carbon pricing green bonds circular economy waste recycling plastics chemicals safety
nuclear radiological biological pandemic vaccines hospitals medicine nutrition sports media
journalists broadcasting languages translation museums archives libraries festivals arts crafts
pilgrimage visas consular citizens diaspora remittances refugees displacement humanitarian aid
peacebuilding mediation reconciliation neighbours bilateral multilateral trilateral observer
partnership memorandum charter declaration roadmap action plan catalogue database registry portal
satellite mapping geospatial forecasting modelling analytics artificial intelligence automation
blockchain payments ecommerce startups incubators entrepreneurs small medium enterprises tariffs
quotas certification accreditation laboratories metrology harmonisation interoperability""")

#: Collocations written as phrases in the text, for the phrase queries.
ENGLISH_COLLOCATIONS = [
    "early warning system", "confidence building measures", "water resource management",
    "border crossing points", "disaster risk reduction", "renewable energy sources", "supply chain resilience",
    "people to people contacts", "small and medium enterprises", "critical infrastructure protection",
    "transboundary river basins", "public health emergencies", "digital public infrastructure",
]

#: Words that appear in very few proposals (about one in 500), for the rare-word queries.
ENGLISH_RARE_WORDS = _words("""desalination permafrost seismology aquifers locust cryptography ombudsman
sandstorms telemedicine cartography""")

ENGLISH_HEADINGS = ["Background", "Context", "Objectives", "Proposed measures", "Implementation", "Costs",
                    "Expected results", "Risks", "Partners", "Timeline", "Monitoring and evaluation", "Annex"]

RUSSIAN_FUNCTION_WORDS = _words("и в на по с для о от к что как а также при между это их или из до не")

#: Russian content words, each with some of its inflected forms ("|"), most frequent first.
RUSSIAN_CONTENT_WORDS = [
    "безопасность|безопасности|безопасностью", "сотрудничество|сотрудничества|сотрудничеству",
    "регион|региона|регионе|регионов", "государство|государства|государств|государствами",
    "развитие|развития|развитию", "доверие|доверия|доверию", "мера|меры|мер|мерам",
    "страна|страны|стран|странами", "экономический|экономического|экономической|экономические",
    "информация|информации|информацией", "предложение|предложения|предложений",
    "граница|границы|границе|границ", "вода|воды|воде|водой", "энергетика|энергетики|энергетической",
    "торговля|торговли|торговлей", "совместный|совместные|совместных|совместной",
    "международный|международного|международных|международной", "управление|управления|управлению",
    "поддержка|поддержки|поддержку", "обмен|обмена|обмену", "реализация|реализации|реализацию",
    "эксперт|эксперты|экспертов|экспертами", "соглашение|соглашения|соглашений",
    "диалог|диалога|диалогу", "транспорт|транспорта|транспортной", "система|системы|систем|системой",
    "риск|риски|рисков", "программа|программы|программе", "политика|политики|политику",
    "стандарт|стандарты|стандартов", "инфраструктура|инфраструктуры|инфраструктурой",
    "исследование|исследования|исследований", "подготовка|подготовки|подготовку", "сеть|сети|сетей",
    "механизм|механизма|механизмов", "партнёр|партнёры|партнёров", "оценка|оценки|оценку",
    "уровень|уровня|уровне", "ресурс|ресурсы|ресурсов", "устойчивый|устойчивого|устойчивое|устойчивых",
    "инвестиция|инвестиции|инвестиций", "климат|климата|климатических", "мониторинг|мониторинга",
    "бедствие|бедствия|бедствий", "реагирование|реагирования", "образование|образования|образованию",
    "здравоохранение|здравоохранения", "финансовый|финансовых|финансовой", "связь|связи",
    "стабильность|стабильности", "предупреждение|предупреждения", "прозрачность|прозрачности",
    "защита|защиты|защиту", "платформа|платформы|платформе", "рынок|рынка|рынков",
    "планирование|планирования", "цифровой|цифровых|цифровой", "молодёжь|молодёжи",
    "культура|культуры|культурного", "туризм|туризма", "таможня|таможенных|таможенного",
    "коридор|коридора|коридоров", "железная|железной|железных", "морской|морских|морского",
    "продовольствие|продовольственной|продовольствия", "сельский|сельского|сельских",
    "миграция|миграции|миграционной", "занятость|занятости", "женщина|женщин|женщинами",
    "бедность|бедности", "рост|роста", "наука|науки|научных", "университет|университетов|университеты",
    "знание|знаний|знаниями", "показатель|показателей|показатели", "отчётность|отчётности",
    "приоритет|приоритеты|приоритетов", "результат|результаты|результатов", "финансирование|финансирования",
    "секретариат|секретариата", "совет|совета|совете", "делегация|делегации|делегаций",
    "консенсус|консенсуса", "совещание|совещания|совещаний", "терроризм|терроризма",
    "экстремизм|экстремизма", "наркотик|наркотиков", "преступность|преступности",
    "коррупция|коррупции", "киберугроза|киберугрозы|киберугроз", "устойчивость|устойчивости",
    "чрезвычайный|чрезвычайных|чрезвычайной", "наводнение|наводнения|наводнений",
    "засуха|засухи|засух", "ледник|ледники|ледников", "река|реки|рек|реками", "бассейн|бассейна|бассейнов",
    "орошение|орошения", "загрязнение|загрязнения", "выброс|выбросы|выбросов",
    "возобновляемый|возобновляемых|возобновляемой", "электроэнергия|электроэнергии",
    "эффективность|эффективности", "биоразнообразие|биоразнообразия", "лес|леса|лесов",
    "адаптация|адаптации", "отход|отходы|отходов", "пандемия|пандемии", "больница|больницы|больниц",
    "язык|языка|языков", "музей|музеи|музеев", "виза|визы|визового", "беженец|беженцы|беженцев",
    "гуманитарный|гуманитарной|гуманитарных", "посредничество|посредничества",
    "партнёрство|партнёрства", "меморандум|меморандума", "декларация|декларации",
    "спутник|спутниковых|спутниковый", "прогнозирование|прогнозирования", "предприятие|предприятий",
]

RUSSIAN_COLLOCATIONS = ["меры доверия", "раннего предупреждения", "водных ресурсов", "устойчивого развития",
                        "региональной безопасности"]

#: Rare Russian words (lemma first); the queries use another form than the text, so stemming must match them.
RUSSIAN_RARE_WORDS = ["опреснение|опреснения|опреснением", "вечная мерзлота|вечной мерзлоты",
                      "сейсмология|сейсмологии", "саранча|саранчи|саранчой", "телемедицина|телемедицины"]

RUSSIAN_HEADINGS = ["Общие положения", "Цели", "Предлагаемые меры", "Реализация", "Ожидаемые результаты",
                    "Риски", "Партнёры", "Сроки", "Мониторинг и оценка"]

CHINESE_WORDS = _words("""安全 合作 区域 发展 经济 能源 水资源 信任 措施 国家 成员 信息 边境 贸易 交通
基础设施 投资 气候 环境 灾害 预警 教育 卫生 文化 旅游 海关 物流 铁路 港口
农业 粮食 青年 科技 创新 数字 网络 治理 对话 机制 伙伴 交流 研究 培训 标准
监测 评估 项目 资金 政策 规划 可持续 能力 建设 共同 联合 倡议 亚洲 会议 互信
协作""")

KEYWORDS_EN = """water security; border management; energy transition; trade facilitation; disaster risk; early
warning; cyber security; public health; education exchange; youth; tourism; transport corridors; food security;
climate adaptation; counter-terrorism; drug trafficking; confidence-building; military transparency;
renewable energy; digital economy; customs; migration; cultural heritage; statistics; small business;
infrastructure; desertification; glaciers; pandemic preparedness; women, peace and security""".replace("\n", " ")
KEYWORDS_EN = [keyword.strip() for keyword in KEYWORDS_EN.split(";")]
KEYWORDS_RU = ["водная безопасность", "управление границами", "энергетический переход", "торговля", "туризм",
               "раннее предупреждение", "кибербезопасность", "здравоохранение", "молодёжь", "климат",
               "терроризм", "транспортные коридоры", "продовольственная безопасность", "меры доверия"]

FIRST_NAMES = _words("""Aigerim Alexei Amir Anna Arman Asel Aziz Bakhyt Chen Daniyar Dilnoza Dmitry Elena Farid Fatima
Gulnara Hassan Hyun Ilya Irina Jae Javad Kamila Kanat Kim Lei Leila Li Madina Marat Maria Mehmet Min
Mohammad Nadia Nguyen Nurlan Olga Omar Pavel Priya Rahul Rashid Saule Sergei Shirin Sun Tahmina
Timur Ulugbek Vera Wei Yerlan Yusuf Zarina Zhang Aisha Bilal Chinara Dariga Emil Gaukhar Ivan Jasur
Kairat Lyudmila Mirzo Nodira Oksana Parviz Qian Rustam""")
LAST_NAMES = _words("""Abdullaev Akhmetov Aliyev Baimukhanov Chen Dzhaksybekov Erdogan Farzaneh Gupta Hashimi Ibragimov
Ismailov Jang Karimov Khan Kim Kuznetsov Lee Li Liu Mahmoud Mamyrov Nazarbekov Nguyen Novikov Omarov
Park Petrov Rahimi Rakhimov Sadykov Sharma Smirnov Sultanov Suleimenov Tashkentova Tokayeva Usmanov
Volkov Wang Wu Yildiz Yusupov Zhang Zhou Haidari Bekova Osmonov Tursunov Nurmagambetov Seitkali
Qureshi Rezaei Tran Pham Chaudhry Ospanova Bakirov Temirov Kasymov Ergashev""")

TANK_PATTERNS = ["Institute for Strategic Studies", "Centre for Regional Cooperation", "Academy of Sciences",
                 "Foreign Policy Research Institute", "Council on International Relations", "Institute of Economics",
                 "Centre for Security Studies", "Water and Environment Institute", "Institute of World Economy",
                 "Public Policy Centre", "Institute for Peace and Development", "Energy Research Centre"]


class Zipf:
    """Words drawn with weights 1/rank (s=1), as in natural text; one ``random.Random`` per sampler."""

    def __init__(self, words: list[str], rng: random.Random, exponent: float = 1.0) -> None:
        self.words = words
        self.rng = rng
        self.cumulative = list(itertools.accumulate(1.0 / (rank ** exponent) for rank in range(1, len(words) + 1)))

    def draw(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=count)


@dataclass
class Corpus:
    """The generated proposals, and the words the queries are built from."""

    records: list[dict]
    member_states: list[str]
    think_tanks: list[tuple[str, str]]
    authors: list[str]
    stats: dict = field(default_factory=dict)


class Generator:
    def __init__(self, seed: int, member_states: list[str]) -> None:
        self.rng = random.Random(seed)
        self.member_states = member_states
        mixed = ENGLISH_FUNCTION_WORDS[:12] + ENGLISH_CONTENT_WORDS[:20] + ENGLISH_FUNCTION_WORDS[12:] \
            + ENGLISH_CONTENT_WORDS[20:]
        self.english = Zipf(mixed, self.rng)
        self.english_content = Zipf(ENGLISH_CONTENT_WORDS, self.rng)
        russian_lemmas = [entry.split("|") for entry in RUSSIAN_CONTENT_WORDS]
        self.russian_forms = russian_lemmas
        self.russian = Zipf(list(range(len(russian_lemmas))), self.rng)
        self.chinese = Zipf(CHINESE_WORDS, self.rng, exponent=0.8)
        self.think_tanks = self._think_tanks()
        self.authors = self._authors()

    def _think_tanks(self) -> list[tuple[str, str]]:
        tanks = []
        for index in range(150):
            code = self.member_states[index % len(self.member_states)]
            pattern = TANK_PATTERNS[(index // len(self.member_states) * 5 + index) % len(TANK_PATTERNS)]
            tanks.append((f"{pattern} ({code}-{index // len(self.member_states) + 1})", code))
        return tanks

    def _authors(self) -> list[str]:
        names = set()
        while len(names) < 2000:
            names.add(f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"
                      + ("" if self.rng.random() < 0.7 else f"-{self.rng.choice(LAST_NAMES)}"))
        return sorted(names)

    # English -----------------------------------------------------------------------------------

    def english_sentence(self, low: int, high: int) -> str:
        drawn = self.english.draw(self.rng.randint(low, high))
        # No word twice in a row ("the the"): Zipf draws repeat the most frequent words often.
        words = [word for index, word in enumerate(drawn) if index == 0 or word != drawn[index - 1]]
        if self.rng.random() < 0.2:
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(ENGLISH_COLLOCATIONS))
        sentence = " ".join(words)
        return sentence[0].upper() + sentence[1:] + "."

    def english_words(self, count: int) -> str:
        sentences, total = [], 0
        while total < count:
            sentence = self.english_sentence(8, 22)
            sentences.append(sentence)
            total += sentence.count(" ") + 1
        return " ".join(sentences)

    def english_title(self) -> str:
        words = self.english_content.draw(self.rng.randint(6, 12))
        if self.rng.random() < 0.15:
            words[self.rng.randrange(len(words))] = self.rng.choice(ENGLISH_COLLOCATIONS)
        return " ".join(words).capitalize()

    # Russian -----------------------------------------------------------------------------------

    def russian_word(self) -> str:
        forms = self.russian_forms[self.russian.draw(1)[0]]
        return self.rng.choice(forms)

    def russian_sentence(self, low: int, high: int) -> str:
        words = []
        for _ in range(self.rng.randint(low, high)):
            words.append(self.rng.choice(RUSSIAN_FUNCTION_WORDS) if self.rng.random() < 0.3 else self.russian_word())
        if self.rng.random() < 0.2:
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(RUSSIAN_COLLOCATIONS))
        sentence = " ".join(words)
        return sentence[0].upper() + sentence[1:] + "."

    def russian_words(self, count: int) -> str:
        sentences, total = [], 0
        while total < count:
            sentence = self.russian_sentence(8, 20)
            sentences.append(sentence)
            total += sentence.count(" ") + 1
        return " ".join(sentences)

    def russian_title(self) -> str:
        return " ".join(self.russian_word() for _ in range(self.rng.randint(6, 12))).capitalize()

    # Chinese -----------------------------------------------------------------------------------

    def chinese_words(self, count: int) -> str:
        sentences, total = [], 0
        while total < count:
            length = self.rng.randint(5, 14)
            sentences.append("".join(self.chinese.draw(length)) + "。")
            total += length
        return "".join(sentences)

    def chinese_title(self) -> str:
        return "".join(self.chinese.draw(self.rng.randint(4, 7)))

    # Proposals ---------------------------------------------------------------------------------

    def body(self, language: str, words: int) -> str:
        headings = {"en": ENGLISH_HEADINGS, "ru": RUSSIAN_HEADINGS}.get(language, ["背景", "目标", "措施", "实施"])
        prose = {"en": self.english_words, "ru": self.russian_words, "zh": self.chinese_words}[language]
        item = {"en": lambda: self.english_sentence(4, 10), "ru": lambda: self.russian_sentence(4, 10),
                "zh": lambda: self.chinese_words(6)}[language]
        sections = self.rng.randint(2, 4)
        parts = []
        remaining = words
        for number, heading in enumerate(self.rng.sample(headings, sections)):
            parts.append(f"## {heading}")
            share = remaining // (sections - number)
            paragraphs = self.rng.randint(1, 3)
            for _ in range(paragraphs):
                parts.append(prose(max(share // paragraphs, 20)))
            if self.rng.random() < 0.6:
                marker = "-" if self.rng.random() < 0.6 else "1."
                parts.append("\n".join(f"{marker} {item()}" for _ in range(self.rng.randint(3, 5))))
            if self.rng.random() < 0.3:
                parts[-1] = parts[-1].replace(".", " **as agreed**.", 1) if language == "en" else parts[-1]
            remaining -= share
        return "\n\n".join(parts)

    def proposal(self, number: int) -> dict:
        draw = self.rng.random()
        language = "ru" if draw < 0.20 else "zh" if draw < 0.215 else "en"
        body_words = self.rng.randint(200, 600)
        if language == "en":
            title, summary = self.english_title(), self.english_words(self.rng.randint(30, 60))
        elif language == "ru":
            title, summary = self.russian_title(), self.russian_words(self.rng.randint(30, 60))
        else:
            title, summary = self.chinese_title(), self.chinese_words(self.rng.randint(30, 60))
        body = self.body(language, body_words)
        rare = ENGLISH_RARE_WORDS if language == "en" else RUSSIAN_RARE_WORDS if language == "ru" else []
        for word in rare:
            if self.rng.random() < 0.002:
                choice = self.rng.choice(word.split("|")[1:] or [word]) if "|" in word else word
                body += f"\n\n{choice.capitalize()} {prose_tail(language)}"
        year = self.rng.randint(2005, 2026)
        submitted = date(year, 1, 1) + timedelta(days=self.rng.randint(0, 200))
        decided = min(submitted + timedelta(days=self.rng.randint(20, 150)), date(year, 12, 31))
        state = "endorsed" if self.rng.random() < 0.98 else self.rng.choice(["not_endorsed", "withdrawn"])
        keywords = KEYWORDS_RU if language == "ru" else KEYWORDS_EN
        record = {
            "title": title[:200],
            "summary": summary[:1500],
            "body": body,
            "language": language,
            "dimensions": self.rng.sample(DIMENSIONS, self.rng.choice([1, 1, 2, 2, 3])),
            "member_states": self.rng.sample(self.member_states, self.rng.choice([0, 1, 1, 2, 2, 3])),
            "keywords": self.rng.sample(keywords, self.rng.randint(1, 4)),
            "think_tanks": [{"name": name, "member_state": code}
                            for name, code in self.rng.sample(self.think_tanks, self.rng.choice([1, 1, 2]))],
            "authors": self.rng.sample(self.authors, self.rng.randint(2, 4)),
            "state": state,
            "submitted_at": submitted.isoformat(),
            "decided_at": decided.isoformat(),
        }
        if number % 2 == 0:
            # Half of the backlog keeps the earlier forum's reference; the other half is numbered on import.
            record["reference"] = f"TTF-{year}-{number:05d}"
        return record


DIMENSIONS = ["economic", "environmental", "human", "military_political", "new_challenges"]


def prose_tail(language: str) -> str:
    if language == "ru":
        return "требует отдельного рассмотрения."
    return "deserves a study of its own."


def generate(count: int, seed: int, member_states: list[str]) -> Corpus:
    generator = Generator(seed, member_states)
    records = [generator.proposal(number) for number in range(1, count + 1)]
    return Corpus(records=records, member_states=member_states, think_tanks=generator.think_tanks,
                  authors=generator.authors)


def write_jsonl(records: list[dict], path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")


# --- the query mix --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    filters: dict = field(default_factory=dict)  # API parameter -> value or list of values

    def label(self) -> str:
        extra = " ".join(f"{name}={value}" for name, value in self.filters.items())
        return f"{self.text} {extra}".strip()

    def parameters(self) -> list[tuple[str, str]]:
        """The URL parameters of ``/api/v1/proposals``: the text and each value of its facet filters."""
        return [("q", self.text), *((name, one) for name, value in self.filters.items()
                                    for one in (value if isinstance(value, list) else [value]))]


def query_mix(corpus: Corpus) -> list[Query]:
    """Five kinds, a few queries each: what researchers type, from one rare word to the most common ones."""
    states = Counter(code for record in corpus.records for code in record["member_states"])
    busiest_state = states.most_common(1)[0][0]
    second_state = states.most_common(2)[1][0]
    return [
        *[Query("rare word", word) for word in ENGLISH_RARE_WORDS[:4]],
        Query("rare word", "опреснение"),
        Query("common words", "security cooperation"),
        Query("common words", "regional development"),
        Query("common words", "information exchange measures"),
        Query("common words", "energy"),
        Query("phrase", '"early warning system"'),
        Query("phrase", '"water resource management"'),
        Query("phrase", '"border crossing points"'),
        Query("phrase", '"supply chain resilience"'),
        Query("facet filter", "security", {"dimension": "environmental", "member_state": busiest_state}),
        Query("facet filter", "water", {"dimension": ["economic", "human"]}),
        Query("facet filter", "cooperation", {"member_state": second_state, "year": "2019"}),
        Query("facet filter", "trade", {"language": "en", "dimension": "new_challenges"}),
        # A Russian form that the text holds only in other forms: found through the Russian stemmer.
        Query("Russian word", "безопасностью"),
        Query("Russian word", "сотрудничеству"),
        Query("Russian word", "ледниками"),
        Query("Russian word", "наводнениями"),
    ]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share between 0 and 1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-share * len(ordered) // 1))))
    return ordered[rank - 1]


@dataclass
class Timings:
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)  # query label -> total found

    def add(self, kind: str, milliseconds: float) -> None:
        self.by_kind.setdefault(kind, []).append(milliseconds)

    def all(self) -> list[float]:
        return [value for values in self.by_kind.values() for value in values]


def run_mix(queries: list[Query], runs_per_kind: int, run_one, warmup_rounds: int = 2) -> Timings:
    """Time ``run_one(query) -> total`` ``runs_per_kind`` times per kind, the kind's queries in turn."""
    timings = Timings()
    for _ in range(warmup_rounds):
        for item in queries:
            timings.totals[item.label()] = run_one(item)
    kinds: dict[str, list[Query]] = {}
    for item in queries:
        kinds.setdefault(item.kind, []).append(item)
    cycles = {kind: itertools.cycle(items) for kind, items in kinds.items()}
    # Interleave the kinds, so a slow moment of the machine does not fall on one kind only.
    for _ in range(runs_per_kind):
        for kind, cycle in cycles.items():
            item = next(cycle)
            started = time.perf_counter()
            run_one(item)
            timings.add(kind, (time.perf_counter() - started) * 1000)
    return timings


# --- Whoosh through the platform ------------------------------------------------------------------


def run_after_changes(queries: list[Query], runs_per_kind: int, run_one, change, warmup_rounds: int = 1) -> Timings:
    """Time the first search after each index change: ``change(number)`` (not timed), then ``run_one(query)``,
    ``runs_per_kind`` times per kind, the kinds interleaved as ``run_mix`` does. The mix is searched
    ``warmup_rounds`` times before the first change, as the archive was searched before an endorsement."""
    timings = Timings()
    for _ in range(warmup_rounds):
        for item in queries:
            run_one(item)
    kinds: dict[str, list[Query]] = {}
    for item in queries:
        kinds.setdefault(item.kind, []).append(item)
    cycles = {kind: itertools.cycle(items) for kind, items in kinds.items()}
    number = 0
    for _ in range(runs_per_kind):
        for kind, cycle in cycles.items():
            item = next(cycle)
            number += 1
            change(number)
            started = time.perf_counter()
            timings.totals[item.label()] = run_one(item)
            timings.add(kind, (time.perf_counter() - started) * 1000)
    return timings


def folder_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


class Platform:
    """The application on a fresh database and index in ``folder``."""

    def __init__(self, folder: Path, database: str) -> None:
        self.folder = folder
        self.schema = None
        # The production configuration, as gunicorn runs it, with the settings it insists on (a throwaway
        # secret, an address, one worker); whatever the environment or a .env file says is not wanted here.
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
        os.environ["BASE_URL"] = "https://archive.bench.invalid"
        os.environ["WEB_CONCURRENCY"] = "1"
        os.environ["LOG_LEVEL"] = "WARNING"
        os.environ["INSTANCE_PATH"] = str(folder / "instance")
        from expert_platform import create_app

        overrides = {"SEARCH_INDEX_DIR": str(folder / "search-index"), "RATELIMIT_ENABLED": False}
        if database == "sqlite":
            overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{folder / 'platform.sqlite'}"
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:12]}"
            self.database = database
            self._execute_on(database, f'CREATE SCHEMA "{self.schema}"')
            overrides["SQLALCHEMY_DATABASE_URI"] = database
            overrides["SQLALCHEMY_ENGINE_OPTIONS"] = {
                "pool_pre_ping": True, "connect_args": {"options": f"-csearch_path={self.schema}"}}
        self.overrides = overrides
        self.app = create_app("production", overrides=overrides)
        self.index_folder = Path(self.app.config["SEARCH_INDEX_DIR"])
        with self.app.app_context():
            from expert_platform.extensions import db
            from expert_platform.reference.services import load_reference_data

            db.create_all()
            if database != "sqlite":
                from expert_platform.search import postgres_ranking

                # The text vectors' indexes, as the migrations make them (RUM where the server has it).
                postgres_ranking.install(db.session.connection())
            load_reference_data()
            db.session.commit()

    @staticmethod
    def _execute_on(url: str, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def close(self, keep: bool = False) -> None:
        """Let go of the database; its schema is dropped unless ``keep`` (then it is printed, to reuse)."""
        with self.app.app_context():
            from expert_platform.extensions import db
            from expert_platform.search import index_store

            index_store.forget_searchers()
            db.session.remove()
            db.engine.dispose()
        if self.schema and keep:
            print(f"Kept the PostgreSQL schema {self.schema} (DROP SCHEMA \"{self.schema}\" CASCADE when done)")
        elif self.schema:
            self._execute_on(self.database, f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')

    def member_state_codes(self) -> list[str]:
        from expert_platform.reference.services import member_states

        with self.app.app_context():
            return sorted(state.code for state in member_states() if state.code)

    def import_file(self, path: Path, app=None) -> dict:
        """Validate and import through the real importer as ``flask archive import`` does (its garbage
        collection per batch included), then commit; every imported proposal is indexed as in production by the
        backend of ``app`` (by default the platform's, Whoosh: the search outbox after the commit; PostgreSQL's
        in the import's transaction)."""
        from expert_platform.archive import importer
        from expert_platform.extensions import db
        from expert_platform.search import index_store, service

        lines = path.read_text(encoding="utf-8").splitlines()
        with (app or self.app).app_context():
            started = time.perf_counter()
            records, errors = importer.validate(lines)
            if errors:
                raise SystemExit("The importer refused the generated file:\n" + "\n".join(map(str, errors[:20])))
            validated = time.perf_counter()
            with importer.garbage_collected_per_batch():
                summary = importer.import_records(records)
                imported = time.perf_counter()
                db.session.commit()  # the outbox writes the Whoosh index after this commit
            finished = time.perf_counter()
            pending = service.pending_count()
            indexed = service.indexed_count()
            whoosh = service.backend() == "whoosh"
            segments = len(index_store.searcher().reader().leaf_readers()) if indexed and whoosh else None
            db.session.remove()
        return {"seconds": finished - started, "validate_seconds": validated - started,
                "import_seconds": imported - validated, "commit_seconds": finished - imported,
                "created": summary.created, "pending": pending, "indexed": indexed, "segments": segments}

    def rebuild_whoosh(self) -> tuple[int, float]:
        """Build the Whoosh index from the database (``flask search rebuild``): (proposals, seconds)."""
        from expert_platform.extensions import db
        from expert_platform.search import maintenance

        with self.app.app_context():
            started = time.perf_counter()
            count = maintenance.rebuild()
            seconds = time.perf_counter() - started
            db.session.remove()
        return count, seconds

    def add_translations(self, share: float, seed: int, member_states: list[str]) -> dict:
        """Give ``share`` of the public proposals a translation into the other working language (English
        <-> Russian; a Chinese one into English), as their authors would have before submission, and
        commit: the outbox reindexes them. Returns how many and how long."""
        from sqlalchemy import select

        from expert_platform import sanitize
        from expert_platform.enums import ProposalState, TextStatus
        from expert_platform.extensions import db
        from expert_platform.proposals.models import Proposal, ProposalTranslation

        generator = Generator(seed + 1, member_states)
        with self.app.app_context():
            started = time.perf_counter()
            public = db.session.scalars(select(Proposal).where(Proposal.state == ProposalState.ENDORSED)
                                        .order_by(Proposal.id)).all()
            chosen = [proposal for proposal in public if generator.rng.random() < share]
            for proposal in chosen:
                language = "ru" if proposal.language == "en" else "en"
                body = generator.body(language, 300)
                title = generator.russian_title() if language == "ru" else generator.english_title()
                summary = (generator.russian_sentence(12, 24) if language == "ru"
                           else generator.english_sentence(12, 24))
                db.session.add(ProposalTranslation(proposal_id=proposal.id, language=language, title=title,
                                                   summary=summary, body=body, body_html=sanitize.render_markdown(body),
                                                   status=TextStatus.TRANSLATION))
            db.session.commit()  # the outbox reindexes them after this commit
            seconds = time.perf_counter() - started
            db.session.remove()
        return {"count": len(chosen), "seconds": seconds}

    def forget_caches(self) -> None:
        """A cold start: a new searcher, and nothing computed from any index version."""
        from expert_platform.search import index_store, query, service

        with self.app.app_context():
            index_store.forget_searchers()
            service.forget_engine_caches()
        for cached in (query._query_of, query.plan_of, query._syntax_tree):
            cached.cache_clear()

    def change_index(self, number: int, app=None) -> None:
        """Change the index as an endorsement does: one public proposal changes (a keyword added, through the
        ORM), the commit writes its outbox row and the outbox applies it after the commit, so the index gets a
        new version (on Whoosh a new segment, a deletion in an older one, small segments merged now and then),
        the index of ``app``'s backend (by default the platform's, Whoosh)."""
        from sqlalchemy import func, select

        from expert_platform.enums import ProposalState
        from expert_platform.extensions import db
        from expert_platform.proposals.models import Proposal, ProposalKeyword
        from expert_platform.search import service

        with (app or self.app).app_context():
            public = select(Proposal.id).where(Proposal.state == ProposalState.ENDORSED)
            count = db.session.scalar(select(func.count()).select_from(public.subquery()))
            chosen = db.session.scalar(public.order_by(Proposal.id).offset(random.Random(number).randrange(count)))
            db.session.add(ProposalKeyword(proposal_id=chosen, keyword=f"bench change {number}"))
            db.session.commit()  # the outbox reindexes the proposal after this commit
            if service.pending_count():
                raise SystemExit("The outbox did not apply the change to the index.")
            db.session.remove()

    def public_references(self, count: int) -> list[str]:
        """The references of ``count`` public proposals picked at random (always the same ones)."""
        from sqlalchemy import select

        from expert_platform.enums import ProposalState
        from expert_platform.extensions import db
        from expert_platform.proposals.models import Proposal

        with self.app.app_context():
            references = sorted(db.session.scalars(select(Proposal.reference)
                                                   .where(Proposal.state == ProposalState.ENDORSED)))
            db.session.remove()
        return random.Random(11).sample(references, min(count, len(references)))

    def has_api(self) -> bool:
        return any(rule.rule == "/api/v1/proposals" for rule in self.app.url_map.iter_rules())

    def api_runner(self, app=None):
        client = (app or self.app).test_client()

        def run(item: Query) -> int:
            response = client.get(f"/api/v1/proposals?{urlencode(item.parameters())}")
            if response.status_code != 200:
                raise SystemExit(f"The API answered {response.status_code} to {item.label()}: {response.data[:300]}")
            payload = response.get_json()
            return payload["total"]

        return run

    def service_runner(self):
        from expert_platform.extensions import db
        from expert_platform.search import service

        def run(item: Query) -> int:
            filters = service.Filters(
                dimensions=tuple(_as_list(item.filters.get("dimension"))),
                member_states=tuple(_as_list(item.filters.get("member_state"))),
                language=item.filters.get("language"),
                year=int(item.filters["year"]) if "year" in item.filters else None,
            )
            # One application context per call, as a request has: the session is new every time.
            with self.app.app_context():
                results = service.search(item.text, filters, None, page=1, per_page=PER_PAGE)
                db.session.remove()
            return results.total

        return run


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- SQLite FTS5 ----------------------------------------------------------------------------------


class Fts5:
    """The same corpus in a plain sqlite3 database: an FTS5 table of title, summary and body (``porter
    unicode61``) and facet tables; a search returns total, facet counts, and a page of hits with snippets."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection = sqlite3.connect(path)
        self.connection.executescript("""
            CREATE TABLE proposals (id INTEGER PRIMARY KEY, reference TEXT, title TEXT, summary TEXT, language TEXT,
                                    year TEXT, decided TEXT, authors TEXT);
            CREATE VIRTUAL TABLE proposal_text USING fts5(title, summary, body, tokenize = 'porter unicode61');
            CREATE TABLE facets (proposal_id INTEGER, facet TEXT, value TEXT);
            CREATE INDEX facets_value ON facets (facet, value, proposal_id);
            CREATE INDEX facets_proposal ON facets (proposal_id);
        """)

    def load(self, path: Path) -> dict:
        started = time.perf_counter()
        count = 0
        with path.open(encoding="utf-8") as lines:
            cursor = self.connection.cursor()
            for number, line in enumerate(lines, start=1):
                record = json.loads(line)
                if record["state"] != "endorsed":
                    continue
                year = record["decided_at"][:4]
                cursor.execute("INSERT INTO proposals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               (number, record.get("reference") or f"IMPORT-{number}", record["title"],
                                record["summary"], record["language"], year, record["decided_at"],
                                "; ".join(record["authors"])))
                cursor.execute("INSERT INTO proposal_text (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                               (number, record["title"], record["summary"], record["body"]))
                rows = [(number, "dimension", value) for value in record["dimensions"]]
                rows += [(number, "member_state", value) for value in record["member_states"]]
                rows += [(number, "think_tank", tank["name"]) for tank in record["think_tanks"]]
                rows += [(number, "language", record["language"]), (number, "year", year)]
                cursor.executemany("INSERT INTO facets VALUES (?, ?, ?)", rows)
                count += 1
            self.connection.commit()
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "indexed": count}

    def size(self) -> int:
        return self.path.stat().st_size

    @staticmethod
    def match_expression(text: str) -> str:
        # The query mix uses words and quoted phrases only: FTS5 reads them the same way (implicit AND).
        return text

    def search(self, item: Query) -> int:
        """Total, facet counts over every match and a page of hits with snippets, as the API gives them."""
        match = self.match_expression(item.text)
        cursor = self.connection.cursor()
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS matched (id INTEGER PRIMARY KEY)")
        cursor.execute("DELETE FROM matched")
        cursor.execute("INSERT INTO matched SELECT rowid FROM proposal_text WHERE proposal_text MATCH ?", [match])
        filters = [(facet, one) for facet, value in item.filters.items() for one in _as_list(value)]
        for facet, value in filters:
            cursor.execute("DELETE FROM matched WHERE id NOT IN "
                           "(SELECT proposal_id FROM facets WHERE facet = ? AND value = ?)", [facet, value])
        total = cursor.execute("SELECT count(*) FROM matched").fetchone()[0]
        facets: dict[str, dict[str, int]] = {}
        for facet, value, count in cursor.execute(
            "SELECT f.facet, f.value, count(*) FROM matched m JOIN facets f ON f.proposal_id = m.id "
            "GROUP BY f.facet, f.value ORDER BY f.facet, count(*) DESC"
        ):
            facets.setdefault(facet, {})[value] = count
        # Joined, not "rowid IN (...)": SQLite then runs the MATCH once per candidate (seconds, not ms).
        restriction = "JOIN matched m ON m.id = proposal_text.rowid" if filters else ""
        hits = cursor.execute(
            "SELECT p.reference, p.title, p.summary, p.language, p.decided, p.authors, "
            "snippet(proposal_text, 0, '<mark>', '</mark>', '…', 12), "
            "snippet(proposal_text, 2, '<mark>', '</mark>', '…', 32) "
            f"FROM proposal_text {restriction} JOIN proposals p ON p.id = proposal_text.rowid "
            "WHERE proposal_text MATCH ? "
            "ORDER BY bm25(proposal_text, 3.0, 1.0, 1.0) LIMIT ?", [match, PER_PAGE]).fetchall()
        json.dumps({"total": total, "facets": facets, "items": hits})  # what an API would send
        return total

    def close(self) -> None:
        self.connection.close()


# --- report ---------------------------------------------------------------------------------------


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}/s"


def fmt_ms(value: float) -> str:
    return f"{value:.1f} ms"


def fmt_bytes(value: float) -> str:
    return f"{value / 1024 / 1024:,.1f} MiB"


def ratio(whoosh: float, fts: float) -> str:
    return f"{whoosh / fts:.2f}" if fts else "-"


def print_table(rows: list[tuple[str, ...]], headers: tuple[str, ...]) -> None:
    widths = [max(len(str(row[index])) for row in [headers, *rows]) for index in range(len(headers))]
    print("  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


class PostgresBackend:
    """The same database searched by the PostgreSQL backend (``SEARCH_BACKEND=postgres``), in the same process."""

    def __init__(self, platform: Platform) -> None:
        from expert_platform import create_app

        self.platform = platform
        self.app = create_app("production", overrides={**platform.overrides, "SEARCH_BACKEND": "postgres"})

    def size(self) -> int:
        from sqlalchemy import text

        from expert_platform.extensions import db

        with self.app.app_context():
            size = db.session.scalar(text("SELECT pg_total_relation_size('search_documents')"
                                          " + pg_total_relation_size('search_translations')"))
            db.session.remove()
        return size

    def close(self) -> None:
        from expert_platform.extensions import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def related_timings(app, count: int, seed: int) -> list[float]:
    """Milliseconds of ``more_like_this`` (the proposal page's related proposals) for ``count`` endorsed
    proposals picked at random, each computed afresh (the first view of each page)."""
    from sqlalchemy import select

    from expert_platform.enums import ProposalState
    from expert_platform.extensions import db
    from expert_platform.proposals.models import Proposal
    from expert_platform.search import service

    with app.app_context():
        ids = list(db.session.scalars(select(Proposal.id).where(Proposal.state == ProposalState.ENDORSED)))
        db.session.remove()
    chosen = random.Random(seed).sample(ids, min(count, len(ids)))
    timings = []
    for proposal_id in chosen:
        with app.app_context():
            proposal = db.session.get(Proposal, proposal_id)
            started = time.perf_counter()
            service.more_like_this(proposal, None)
            timings.append((time.perf_counter() - started) * 1000)
            db.session.remove()
    return timings


def backend_rows(whoosh: Timings, postgres: Timings) -> list[tuple[str, ...]]:
    rows = []
    for kind in [*whoosh.by_kind, "overall"]:
        for name, share in (("p50", 0.5), ("p95", 0.95)):
            ours, theirs = ((timings.all() if kind == "overall" else timings.by_kind[kind])
                            for timings in (whoosh, postgres))
            first, second = percentile(ours, share), percentile(theirs, share)
            rows.append((f"{kind} {name}", fmt_ms(first), fmt_ms(second), f"{second / first:.2f}"))
    return rows


def latency_rows(ours: Timings, engine: Timings | None, theirs: Timings, cold: Timings | None):
    rows = []
    for kind in [*ours.by_kind, "overall"]:
        def pick(timings, share, kind=kind):
            if timings is None:
                return None
            values = timings.all() if kind == "overall" else timings.by_kind[kind]
            return percentile(values, share)

        for name, share, target in (("p50", 0.5, TARGET_P50_MS), ("p95", 0.95, TARGET_P95_MS)):
            value, fts = pick(ours, share), pick(theirs, share)
            engine_value, cold_value = pick(engine, share), pick(cold, share)
            rows.append((f"{kind} {name}", fmt_ms(value), fmt_ms(engine_value) if engine_value is not None else "",
                         fmt_ms(cold_value) if cold_value is not None else "", fmt_ms(fts), ratio(value, fts),
                         f"<= {target:.0f} ms" if kind == "overall" else "",
                         ("yes" if value <= target else "NO") if kind == "overall" else ""))
    return rows


def peak_memory_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare_backends(platform: Platform, backend: PostgresBackend, queries: list[Query], whoosh_times: Timings,
                     runs: int, figures: dict) -> None:
    """The PostgreSQL backend on the same data and queries, beside Whoosh (issue 8 point 1): its tables were
    filled by the import (``import_file`` with its application)."""
    size = backend.size()
    postgres_times = run_mix(queries, runs, platform.api_runner(backend.app))
    postgres_changed = run_after_changes(queries, max(runs // 10, 10), platform.api_runner(backend.app),
                                         lambda number: platform.change_index(10_000 + number, backend.app)).all()
    related = {"Whoosh": related_timings(platform.app, runs, 7), "PostgreSQL": related_timings(backend.app, runs, 7)}
    print()
    print(f"PostgreSQL backend (SEARCH_BACKEND=postgres) on the same database: tables and indexes {fmt_bytes(size)}"
          f" (Whoosh's folder: {fmt_bytes(folder_size(platform.index_folder))}).")
    print("Totals found by each backend (the same query syntax; stemmers are Snowball in both):")
    print_table([(item.kind, item.label(), f"{whoosh_times.totals[item.label()]:,}",
                  f"{postgres_times.totals[item.label()]:,}") for item in queries],
                ("kind", "query", "Whoosh", "PostgreSQL"))
    unequal = [item.label() for item in queries
               if whoosh_times.totals[item.label()] != postgres_times.totals[item.label()]]
    print("Equal totals for every query." if not unequal else f"DIFFERENT totals: {', '.join(unequal)}")
    figures["equal totals"] = not unequal
    print()
    print_table(backend_rows(whoosh_times, postgres_times), ("API latency", "Whoosh", "PostgreSQL", "ratio PG/Whoosh"))
    print()
    print(f"More like this (a proposal page's related proposals, {len(related['Whoosh'])} proposals, each the first"
          " time): " + "; ".join(f"{name} p50 {fmt_ms(percentile(values, 0.5))}, p95 {fmt_ms(percentile(values, 0.95))}"
                                 for name, values in related.items()))
    print(f"PostgreSQL, first search after an index change ({len(postgres_changed)} changes, as for Whoosh above: what"
          f" each process keeps of a query's results is of one index version): p50"
          f" {fmt_ms(percentile(postgres_changed, 0.5))}, p95 {fmt_ms(percentile(postgres_changed, 0.95))}")
    figures.update(latency_figures("PostgreSQL", postgres_times))
    figures["PostgreSQL first search after a change p50"] = percentile(postgres_changed, 0.5)
    figures["PostgreSQL first search after a change p95"] = percentile(postgres_changed, 0.95)
    for name, values in related.items():
        figures[f"{name} more like this p50"] = percentile(values, 0.5)
        figures[f"{name} more like this p95"] = percentile(values, 0.95)


def latency_figures(name: str, timings: Timings) -> dict[str, float]:
    """p50 and p95 of each kind and overall, named for the saved figures."""
    figures = {}
    for kind in [*timings.by_kind, "overall"]:
        values = timings.all() if kind == "overall" else timings.by_kind[kind]
        figures[f"{name} {kind} p50"] = percentile(values, 0.5)
        figures[f"{name} {kind} p95"] = percentile(values, 0.95)
    return figures


# --- server processes -----------------------------------------------------------------------------


def server_figures(platform: Platform, backend: str, queries: list[Query], rounds: int, pages: int) -> dict:
    """One gunicorn worker as ``make serve`` starts it (gunicorn.conf.py, production settings; one process,
    one thread, rate limits off) on the benchmark's database and index with SEARCH_BACKEND=``backend``:
    the query mix through HTTP ``rounds`` times, then ``pages`` public proposal pages (each page's first
    view computes its related proposals). Returns the worker's resident memory at its peak and at the end
    (``/proc``), and the HTTP latencies."""
    from load import Browser, Server, environment, free_port

    port = free_port()
    if platform.schema is None:
        database_url = platform.overrides["SQLALCHEMY_DATABASE_URI"]
    else:
        separator = "&" if "?" in platform.database else "?"
        database_url = f"{platform.database}{separator}options=-csearch_path%3D{platform.schema}"
    env = environment(platform.folder, database_url, backend, port, "memory://")
    env.update({"SEARCH_INDEX_DIR": str(platform.index_folder), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "1",
                "RATELIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING", "GUNICORN_LOG_LEVEL": "warning"})
    server = Server(env, platform.folder / f"gunicorn-{backend}.log")
    try:
        server.wait_until_healthy("127.0.0.1", port)
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        worker = int(children[0])
        browser = Browser("127.0.0.1", port)
        searches, views, related_shown = [], [], 0
        for _round in range(rounds):
            for item in queries:
                started = time.perf_counter()
                status, _headers, _text = browser.request("GET", f"/api/v1/proposals?{urlencode(item.parameters())}")
                searches.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    raise SystemExit(f"The server answered {status} to {item.label()}")
        for reference in platform.public_references(pages):
            started = time.perf_counter()
            status, _headers, text = browser.request("GET", f"/proposals/{reference}")
            views.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"The page of {reference} answered {status}")
            related_shown += 'id="related"' in text
        status_lines = dict(line.split(":", 1) for line in Path(f"/proc/{worker}/status").read_text().splitlines()
                            if ":" in line)
        memory = {name: int(status_lines[name].split()[0]) / 1024 for name in ("VmHWM", "VmRSS")}
    finally:
        server.stop()
    return {"peak MiB": memory["VmHWM"], "end MiB": memory["VmRSS"], "search p50": percentile(searches, 0.5),
            "search p95": percentile(searches, 0.95), "page p50": percentile(views, 0.5),
            "page p95": percentile(views, 0.95), "searches": len(searches), "pages": len(views),
            "pages with related proposals": related_shown}


# --- acceptance and growth ------------------------------------------------------------------------


#: Issue 15's acceptance, at 20,000 proposals on a PostgreSQL database (the import on Whoosh: on SQLite), and
#: at 100,000 with both backends: (figure, at most or at least, value, from how many proposals).
ACCEPTANCE = [
    ("PostgreSQL overall p95", "<=", 100.0, 20_000), ("PostgreSQL common words p95", "<=", 100.0, 20_000),
    ("PostgreSQL overall p50 / Whoosh overall p50", "<=", 2.0, 20_000),
    ("PostgreSQL more like this p95", "<=", 100.0, 20_000), ("Whoosh more like this p95", "<=", 100.0, 20_000),
    ("Whoosh overall p50", "<=", 20.0, 20_000), ("Whoosh overall p95", "<=", 50.0, 20_000),
    ("Whoosh first search after a change p95", "<=", 150.0, 20_000),
    ("PostgreSQL import per s", ">=", 500.0, 0), ("Whoosh import per s", ">=", 200.0, 0),
    ("PostgreSQL overall p95", "<=", 200.0, 100_000), ("Whoosh overall p95", "<=", 200.0, 100_000),
    ("PostgreSQL more like this p95", "<=", 200.0, 100_000), ("Whoosh more like this p95", "<=", 200.0, 100_000),
]


def acceptance_rows(figures: dict, proposals: int) -> list[tuple[str, ...]]:
    """The targets that apply to a run of ``proposals``, measured or not: those of the largest size the run
    reaches (20,000 or 100,000), and the import rates at any size."""
    reached = max((since for _name, _sense, _target, since in ACCEPTANCE if since <= proposals), default=0)
    wanted = {name: (sense, target) for name, sense, target, since in ACCEPTANCE if since in (0, reached)}
    if "Whoosh overall p50" in figures and "PostgreSQL overall p50" in figures:
        figures["PostgreSQL overall p50 / Whoosh overall p50"] = (figures["PostgreSQL overall p50"]
                                                                  / figures["Whoosh overall p50"])
    rows = []
    for name, (sense, target) in wanted.items():
        value = figures.get(name)
        if value is None:
            rows.append((name, "not measured in this run", f"{sense} {target:g}", ""))
            continue
        met = value <= target if sense == "<=" else value >= target
        rows.append((name, f"{value:,.2f}", f"{sense} {target:g}", "yes" if met else "NO"))
    return rows


def growth_rows(before: dict, after: dict) -> list[tuple[str, ...]]:
    """Each figure of both runs with how it grew (after / before)."""
    rows = []
    for name, value in after["figures"].items():
        earlier = before["figures"].get(name)
        if isinstance(value, bool) or not isinstance(earlier, (int, float)) or isinstance(earlier, bool):
            continue
        rows.append((name, f"{earlier:,.1f}", f"{value:,.1f}", f"{value / earlier:.2f}x" if earlier else ""))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proposals", type=int, default=20_000, help="how many proposals to generate")
    parser.add_argument("--queries", type=int, default=200, help="timed requests per kind of query")
    parser.add_argument("--database", default="sqlite", help="sqlite, or a PostgreSQL URL (a fresh schema is used)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--translated", type=float, default=0.0, metavar="SHARE",
                        help="give this share (0-1) of the public proposals a translation into the other working "
                             "language before the queries run")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder (and the PostgreSQL schema) and print where they are")
    parser.add_argument("--profile", metavar="FILE",
                        help="write to FILE a cProfile of the API queries run again after they were timed")
    parser.add_argument("--save", metavar="FILE", help="write the run's figures to FILE (JSON), for --grown-from")
    parser.add_argument("--grown-from", metavar="FILE",
                        help="print how each figure grew from the run saved in FILE (e.g. 20,000 to 100,000)")
    parser.add_argument("--server-rounds", type=int, default=5,
                        help="rounds of the query mix through each backend's gunicorn worker (0: no server)")
    arguments = parser.parse_args(argv)
    earlier = json.loads(Path(arguments.grown_from).read_text()) if arguments.grown_from else None

    folder = Path(tempfile.mkdtemp(prefix="search-bench-"))
    platform = None
    postgres_backend = None
    figures: dict = {}
    try:
        print(f"Search benchmark: {arguments.proposals:,} proposals, {arguments.queries} timed queries per kind, "
              f"database {arguments.database.split('@')[-1]}, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} cores, load average {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
        platform = Platform(folder, arguments.database)
        started = time.perf_counter()
        corpus = generate(arguments.proposals, arguments.seed, platform.member_state_codes())
        corpus_file = folder / "archive.jsonl"
        write_jsonl(corpus.records, corpus_file)
        languages = Counter(record["language"] for record in corpus.records)
        public = sum(record["state"] == "endorsed" for record in corpus.records)
        words = sum(len(record["body"].split()) for record in corpus.records)
        print(f"Generated {len(corpus.records):,} proposals ({public:,} endorsed; "
              + ", ".join(f"{code} {count:,}" for code, count in languages.most_common())
              + f"; {words / len(corpus.records):.0f} body words on average) in {time.perf_counter() - started:.1f} s:"
              f" {fmt_bytes(corpus_file.stat().st_size)} of JSONL")

        # The import's figure is the backend's own: Whoosh on SQLite, the PostgreSQL backend on PostgreSQL
        # (whose Whoosh index is then built from the database, as `flask search rebuild` does).
        on_postgres = arguments.database != "sqlite"
        if on_postgres:
            postgres_backend = PostgresBackend(platform)
        imported = platform.import_file(corpus_file, postgres_backend.app if on_postgres else None)
        backend_name = "PostgreSQL" if on_postgres else "Whoosh"
        import_rate = arguments.proposals / imported["seconds"]
        figures[f"{backend_name} import per s"] = import_rate
        count = arguments.proposals
        print(f"Import through the importer and the outbox (SEARCH_BACKEND={'postgres' if on_postgres else 'whoosh'}):"
              f" {imported['seconds']:.1f} s, {fmt_rate(import_rate)}"
              f" = validation {imported['validate_seconds']:.1f} s ({imported['validate_seconds'] / count * 1000:.2f}"
              f" ms each) + importer {imported['import_seconds']:.1f} s"
              f" ({imported['import_seconds'] / count * 1000:.2f} ms each"
              f"{', the index written in its transaction' if on_postgres else ''}) + commit and the outbox"
              f" {imported['commit_seconds']:.1f} s ({imported['commit_seconds'] / count * 1000:.2f} ms each)")
        if imported["indexed"] != public or imported["pending"]:
            raise SystemExit("The index does not hold every endorsed proposal: the import or the outbox failed.")
        if on_postgres:
            rebuilt, seconds = platform.rebuild_whoosh()
            print(f"Whoosh index built from the database (`flask search rebuild`): {rebuilt:,} public proposals in"
                  f" {seconds:.1f} s ({fmt_rate(rebuilt / seconds)})")
        whoosh_size = folder_size(platform.index_folder)
        print(f"Whoosh index: {public:,} public proposals, {fmt_bytes(whoosh_size)}")

        if arguments.translated:
            added = platform.add_translations(arguments.translated, arguments.seed, corpus.member_states)
            print(f"Translations: {added['count']:,} public proposals given one (English <-> Russian), saved and"
                  f" reindexed in {added['seconds']:.1f} s (FTS5 below has the originals only)")

        fts = Fts5(folder / "fts5.sqlite")
        fts_import = fts.load(corpus_file)
        fts_rate = arguments.proposals / fts_import["seconds"]
        print(f"FTS5 load: {fts_import['seconds']:.1f} s, {fmt_rate(fts_rate)}; database {fmt_bytes(fts.size())}")

        queries = query_mix(corpus)
        through_api = platform.has_api()
        if not through_api:
            print("NOTE: /api/v1/proposals is not there: measuring search.service.search instead of the API.")
        primary = platform.api_runner() if through_api else platform.service_runner()
        whoosh_times = run_mix(queries, arguments.queries, primary)
        if arguments.profile:
            # The same requests again under the profiler, which slows Python (Whoosh) more than waiting for
            # the database: the figures above are measured without it.
            import cProfile

            profile = cProfile.Profile()
            profile.enable()
            run_mix(queries, arguments.queries, primary, warmup_rounds=0)
            profile.disable()
            profile.dump_stats(arguments.profile)
        figures.update(latency_figures("Whoosh", whoosh_times))
        service_times = run_mix(queries, arguments.queries, platform.service_runner()) if through_api else None

        def cold(item: Query) -> int:
            platform.forget_caches()
            return primary(item)

        cold_times = run_mix(queries, max(arguments.queries // 10, 10), cold, warmup_rounds=0)
        changed_times = run_after_changes(queries, max(arguments.queries // 10, 10), primary, platform.change_index)
        fts_times = run_mix(queries, arguments.queries, fts.search)

        print()
        print("Totals found (Whoosh stems English and Russian; FTS5's porter stems English only):")
        print_table([(item.kind, item.label(), f"{whoosh_times.totals[item.label()]:,}",
                      f"{fts_times.totals[item.label()]:,}") for item in queries],
                    ("kind", "query", "Whoosh", "FTS5"))
        print()
        rows = [("index size on disk", fmt_bytes(whoosh_size), "", "", fmt_bytes(fts.size()),
                 ratio(whoosh_size, fts.size()), "", "")]
        rows += latency_rows(whoosh_times, service_times, fts_times, cold_times)
        print_table(rows, ("metric", "Whoosh API" if through_api else "Whoosh service",
                           "service only" if through_api else "", "cold start (nothing cached)", "FTS5",
                           "ratio Whoosh/FTS5", "target", "met"))
        print()
        print("Whoosh API: GET /api/v1/proposals (20 items, facets, highlights) through a Flask test client, caches"
              " warm. service only: search.service.search. cold start: each request on a new searcher"
              f" with nothing computed ({max(arguments.queries // 10, 10)} per kind). Peak memory of this benchmark"
              f" process {peak_memory_mib():,.0f} MiB.")
        changed = changed_times.all()
        figures["Whoosh first search after a change p50"] = percentile(changed, 0.5)
        figures["Whoosh first search after a change p95"] = percentile(changed, 0.95)
        print(f"First search after an index change ({len(changed)} changes, each a public proposal's keyword added and"
              " applied by the outbox, then one request of the mix on the new index version): p50"
              f" {fmt_ms(percentile(changed, 0.5))}, p95 {fmt_ms(percentile(changed, 0.95))}; by kind "
              + ", ".join(f"{kind} {fmt_ms(percentile(values, 0.5))} / {fmt_ms(percentile(values, 0.95))}"
                          for kind, values in changed_times.by_kind.items()) + ".")
        fts.close()
        if on_postgres:
            compare_backends(platform, postgres_backend, queries, whoosh_times, arguments.queries, figures)
        else:
            related = related_timings(platform.app, arguments.queries, 7)
            figures["Whoosh more like this p50"] = percentile(related, 0.5)
            figures["Whoosh more like this p95"] = percentile(related, 0.95)
            print(f"More like this (a proposal page's related proposals, {len(related)} proposals, each the first"
                  f" time): Whoosh p50 {fmt_ms(percentile(related, 0.5))}, p95 {fmt_ms(percentile(related, 0.95))}")

        if arguments.server_rounds:
            print()
            backends = (("Whoosh", "whoosh"), *((("PostgreSQL", "postgres"),) if on_postgres else ()))
            served = {}
            for name, setting in backends:
                served[name] = server_figures(platform, setting, queries, arguments.server_rounds,
                                              min(arguments.queries, 60))
                figures[f"{name} server process peak MiB"] = served[name]["peak MiB"]
                figures[f"{name} server process MiB at the end"] = served[name]["end MiB"]
            print_table([(name, f"{values['peak MiB']:,.0f} MiB", f"{values['end MiB']:,.0f} MiB",
                          f"{fmt_ms(values['search p50'])} / {fmt_ms(values['search p95'])}",
                          f"{fmt_ms(values['page p50'])} / {fmt_ms(values['page p95'])}")
                         for name, values in served.items()],
                        ("server process", "peak memory", "at the end", "API p50 / p95 over HTTP",
                         "proposal page, first view, p50 / p95"))
            print(f"One gunicorn worker each (gunicorn.conf.py, one thread): {arguments.server_rounds} rounds of the"
                  f" query mix ({len(queries) * arguments.server_rounds} requests), then {min(arguments.queries, 60)}"
                  " public proposal pages, each the first time ("
                  + ", ".join(f"{name}: {values['pages with related proposals']} listed related proposals"
                              for name, values in served.items())
                  + "); memory from /proc (VmHWM, VmRSS).")

        print()
        print(f"Issue 15's acceptance at {arguments.proposals:,} proposals:")
        print_table(acceptance_rows(figures, arguments.proposals), ("figure", "measured", "target", "met"))
        if arguments.save:
            Path(arguments.save).write_text(json.dumps({"proposals": arguments.proposals, "database":
                                                        arguments.database.split("@")[-1], "figures": figures},
                                                       indent=1))
            print(f"Figures saved to {arguments.save}.")
        if earlier is not None:
            print()
            print(f"How each figure grew from {earlier['proposals']:,} to {arguments.proposals:,} proposals:")
            print_table(growth_rows(earlier, {"figures": figures}),
                        ("figure", f"at {earlier['proposals']:,}", f"at {arguments.proposals:,}", "growth"))
        return 0
    finally:
        if postgres_backend is not None:
            postgres_backend.close()
        if platform is not None:
            platform.close(keep=arguments.keep)
        if arguments.keep:
            print(f"Kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
