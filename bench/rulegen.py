"""Watch rules for the benchmarks: many, varied, and shaped like real ones (a few terms,
English and Arabic, phrases, prefixes, AND/OR/NOT, NEAR), drawn deterministically."""

from __future__ import annotations

import random

TERMS = [
    "NATO",
    "OTAN",
    "cyber*",
    "ransomware",
    "sanctions",
    "embargo",
    "ceasefire",
    "refugees",
    "humanitarian",
    "ambassador",
    "minister",
    "parliament",
    "election",
    "referendum",
    "tariff",
    "inflation",
    "pipeline",
    "uranium",
    "missile",
    "drone",
    "satellite",
    "espionage",
    "terrorism",
    "extremism",
    "militia",
    "peacekeeping",
    "treaty",
    "summit",
    "delegation",
    "Qatar",
    "Gaza",
    "Ukraine",
    "Russia",
    "China",
    "Iran",
    "Sudan",
    "Yemen",
    "Syria",
    "Libya",
    "Afghanistan",
    "Taliban",
    "Sahel",
    "Brussels",
    "Geneva",
    "Doha",
    "Kabul",
    "Tehran",
    "Moscow",
    "Beijing",
    "Washington",
    "London",
    "Paris",
    "Berlin",
    "Ankara",
    "vaccine",
    "pandemic",
    "outbreak",
    "earthquake",
    "flood",
    "drought",
    "famine",
    "wildfire",
    "hurricane",
    "climate",
    "encryption",
    "malware",
    "phishing",
    "botnet",
    "vulnerability",
    "exploit",
    "breach",
    "leak",
    "surveillance",
    "privacy",
    "الناتو",
    "السيبراني",
    "الإرهاب",
    "اللاجئين",
    "العقوبات",
    "الهدنة",
    "السفير",
    "الوزير",
    "البرلمان",
    "الانتخابات",
    "قطر",
    "غزة",
    "أوكرانيا",
    "روسيا",
    "الصين",
    "إيران",
    "السودان",
    "اليمن",
    "سوريا",
    "ليبيا",
    "أفغانستان",
    "طالبان",
    "الدوحة",
    "الزلزال",
    "الفيضانات",
    "الجفاف",
    "المناخ",
    "اللقاح",
    "الوباء",
    "القرصنة",
    "التجسس",
    "الطاقة",
    "النفط",
    "الغاز",
]

PHRASES = [
    '"security council"',
    '"human rights"',
    '"foreign minister"',
    '"prime minister"',
    '"cyber defence"',
    '"climate change"',
    '"united nations"',
    '"european union"',
    '"حلف شمال الأطلسي"',
    '"الأمن السيبراني"',
    '"مجلس الأمن"',
    '"حقوق الإنسان"',
    '"وزير الخارجية"',
]


def generated_rules(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        a, b, c = rng.sample(TERMS, 3)
        shape = i % 6
        if shape == 0:
            query = f"{a} OR {b}"
        elif shape == 1:
            query = f"{a} {rng.choice(PHRASES)}"
        elif shape == 2:
            query = f"({a} OR {b}) AND NOT {c}"
        elif shape == 3:
            query = f"{a} NEAR/8 {b}"
        elif shape == 4:
            query = f"title:{a} OR {rng.choice(PHRASES)}"
        else:
            query = f"{a} {b} OR {c}"
        out.append((f"r{i:04d}", query))
    return out
