"""AQI categories, colours, health advice and sensitive groups, in Chinese and English."""

from __future__ import annotations

from collections.abc import Mapping

from services.air_quality.aqi_core import POLLUTANTS, Category, Standard

# Upper AQI bound of levels 1-5; level 6 is everything above 300.
_LEVEL_TOPS = (50, 100, 150, 200, 300)

# HJ 633-2012 / 2026 表1 and 附录A (the same colours in both); English names as CNEMC publishes them.
CHINA_CATEGORIES = (
    Category(1, "优", "Excellent", "#00E400"),
    Category(2, "良", "Good", "#FFFF00"),
    Category(3, "轻度污染", "Lightly polluted", "#FF7E00"),
    Category(4, "中度污染", "Moderately polluted", "#FF0000"),
    Category(5, "重度污染", "Heavily polluted", "#99004C"),
    Category(6, "严重污染", "Severely polluted", "#7E0023"),
)

# EPA TAD 2024 Table 2; purple is 143,63,151 (not China's). The Chinese names are our usual translations.
EPA_CATEGORIES = (
    Category(1, "良好", "Good", "#00E400"),
    Category(2, "中等", "Moderate", "#FFFF00"),
    Category(3, "对敏感人群不健康", "Unhealthy for Sensitive Groups", "#FF7E00"),
    Category(4, "不健康", "Unhealthy", "#FF0000"),
    Category(5, "非常不健康", "Very Unhealthy", "#8F3F97"),
    Category(6, "危险", "Hazardous", "#7E0023"),
)

# (health effects, measures) per level, zh as the standard words it; en is our translation.
_CHINA_ADVICE_2012 = (
    ("空气质量令人满意，基本无空气污染", "各类人群可正常活动"),
    (
        "空气质量可接受，但某些污染物可能对极少数异常敏感人群健康有较弱影响",
        "极少数异常敏感人群应减少户外活动",
    ),
    (
        "易感人群症状有轻度加剧，健康人群出现刺激症状",
        "儿童、老年人及心脏病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼",
    ),
    (
        "进一步加剧易感人群症状，可能对健康人群心脏、呼吸系统有影响",
        "儿童、老年人及心脏病、呼吸系统疾病患者避免长时间、高强度的户外锻练，一般人群适量减少户外运动",
    ),
    (
        "心脏病和肺病患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状",
        "儿童、老年人和心脏病、肺病患者应停留在室内，停止户外运动，一般人群减少户外运动",
    ),
    (
        "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病",
        "儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动",
    ),
)
_CHINA_ADVICE_2012_EN = (
    ("Air quality is satisfactory; there is basically no air pollution.", "Everyone can carry on as normal."),
    (
        "Air quality is acceptable, but some pollutants may slightly affect a very small number of unusually "
        "sensitive people.",
        "The very few unusually sensitive people should reduce outdoor activity.",
    ),
    (
        "Symptoms of susceptible people are slightly aggravated; healthy people show irritation symptoms.",
        "Children, older people and people with heart or respiratory disease should reduce prolonged or "
        "strenuous outdoor exercise.",
    ),
    (
        "Symptoms of susceptible people are further aggravated; the heart and respiratory system of healthy "
        "people may be affected.",
        "Children, older people and people with heart or respiratory disease should avoid prolonged or "
        "strenuous outdoor exercise; everyone else should moderately reduce outdoor exercise.",
    ),
    (
        "Symptoms of people with heart or lung disease are markedly aggravated and their exercise tolerance "
        "falls; healthy people commonly show symptoms.",
        "Children, older people and people with heart or lung disease should stay indoors and stop outdoor "
        "exercise; everyone else should reduce outdoor exercise.",
    ),
    (
        "Healthy people's exercise tolerance falls, with marked, strong symptoms; some illnesses set in early.",
        "Children, older people and the sick should stay indoors and avoid physical exertion; everyone else "
        "should avoid outdoor activity.",
    ),
)
_CHINA_ADVICE_2026 = (
    _CHINA_ADVICE_2012[0],
    _CHINA_ADVICE_2012[1],
    (
        "敏感人群症状有轻度加剧，健康人群出现刺激症状",
        "青少年儿童、老年人及心血管系统疾病、呼吸系统疾病患者应减少长时间、高强度的户外锻炼",
    ),
    (
        "进一步加剧敏感人群症状，可能对健康人群心血管系统、呼吸系统有影响",
        "青少年儿童、老年人及心血管系统疾病、呼吸系统疾病患者避免长时间、高强度的户外锻炼，一般人群适量减少户外运动",
    ),
    (
        "心血管系统和呼吸系统患者症状显著加剧，运动耐受力降低，健康人群普遍出现症状",
        "青少年儿童、老年人和心血管系统、呼吸系统疾病患者应停留在室内，停止户外运动，一般人群减少户外运动",
    ),
    (
        "健康人群运动耐受力降低，有明显强烈症状，提前出现某些疾病",
        "青少年儿童、老年人和病人应当留在室内，避免体力消耗，一般人群应避免户外活动",
    ),
)
_CHINA_ADVICE_2026_EN = (
    _CHINA_ADVICE_2012_EN[0],
    _CHINA_ADVICE_2012_EN[1],
    (
        "Symptoms of sensitive people are slightly aggravated; healthy people show irritation symptoms.",
        "Children and adolescents, older people and people with cardiovascular or respiratory disease should "
        "reduce prolonged or strenuous outdoor exercise.",
    ),
    (
        "Symptoms of sensitive people are further aggravated; the cardiovascular and respiratory systems of "
        "healthy people may be affected.",
        "Children and adolescents, older people and people with cardiovascular or respiratory disease should "
        "avoid prolonged or strenuous outdoor exercise; everyone else should moderately reduce outdoor exercise.",
    ),
    (
        "Symptoms of people with cardiovascular or respiratory disease are markedly aggravated and their "
        "exercise tolerance falls; healthy people commonly show symptoms.",
        "Children and adolescents, older people and people with cardiovascular or respiratory disease should "
        "stay indoors and stop outdoor exercise; everyone else should reduce outdoor exercise.",
    ),
    (
        _CHINA_ADVICE_2012_EN[5][0],
        "Children and adolescents, older people and the sick should stay indoors and avoid physical exertion; "
        "everyone else should avoid outdoor activity.",
    ),
)

_PM_2026 = (
    "患有心血管系统疾病或呼吸系统疾病（如哮喘）的人、青少年儿童、户外活动频繁的人以及老年人",
    "People with cardiovascular or respiratory disease (such as asthma), children and adolescents, people "
    "often active outdoors, and older people",
)
_O3_2026 = (
    "患有呼吸系统疾病（如哮喘）的人、青少年儿童、户外活动频繁的人以及老年人",
    "People with respiratory disease (such as asthma), children and adolescents, people often active "
    "outdoors, and older people",
)
# HJ 633-2026 表2: who is sensitive to a pollutant whose IAQI exceeds 100. HJ 633-2012 has no such table.
_CHINA_SENSITIVE_2026 = {
    "so2": ("患有哮喘的人、青少年儿童以及老年人", "People with asthma, children and adolescents, and older people"),
    "no2": (
        "患有呼吸系统疾病（如哮喘）的人、青少年儿童以及老年人",
        "People with respiratory disease (such as asthma), children and adolescents, and older people",
    ),
    "co": ("患有心血管系统疾病的人", "People with cardiovascular disease"),
    "o3": _O3_2026,
    "o3_8h": _O3_2026,
    "pm10": _PM_2026,
    "pm25": _PM_2026,
}

# EPA: what each category means and what to do, after TAD Tables 1 and 4 (our wording, not quoted).
_EPA_ADVICE = (
    (
        (
            "空气质量令人满意，空气污染几乎没有风险",
            "Air quality is satisfactory; air pollution poses little or no risk.",
        ),
        ("适合户外活动", "A good day to be active outside."),
    ),
    (
        (
            "空气质量可以接受，但对少数对空气污染异常敏感的人可能有风险",
            "Air quality is acceptable, but there may be a risk for some people who are unusually sensitive to "
            "air pollution.",
        ),
        (
            "异常敏感的人应考虑减少长时间或高强度的户外活动",
            "Unusually sensitive people should consider reducing prolonged or heavy exertion outdoors.",
        ),
    ),
    (
        (
            "敏感人群可能出现健康影响，一般公众受影响的可能性较小",
            "Members of sensitive groups may experience health effects; the general public is less likely to be "
            "affected.",
        ),
        (
            "敏感人群应减少长时间或高强度的户外活动，并多休息",
            "Sensitive groups should reduce prolonged or heavy exertion outdoors and take more breaks.",
        ),
    ),
    (
        (
            "部分公众可能出现健康影响，敏感人群可能受到更严重的影响",
            "Some members of the general public may experience health effects; sensitive groups may experience "
            "more serious effects.",
        ),
        (
            "敏感人群应避免长时间或高强度的户外活动，其他人应减少",
            "Sensitive groups should avoid prolonged or heavy exertion outdoors; everyone else should reduce it.",
        ),
    ),
    (
        ("健康警报：所有人的健康风险都在增加", "Health alert: the risk of health effects is increased for everyone."),
        (
            "敏感人群应避免一切户外体力活动，其他人应避免长时间或高强度的户外活动",
            "Sensitive groups should avoid all physical activity outdoors; everyone else should avoid prolonged "
            "or heavy exertion outdoors.",
        ),
    ),
    (
        (
            "紧急健康警告：所有人都更可能受到影响",
            "Health warning of emergency conditions: everyone is more likely to be affected.",
        ),
        (
            "所有人应避免一切户外体力活动，敏感人群应留在室内并保持低活动量",
            "Everyone should avoid all physical activity outdoors; sensitive groups should remain indoors and "
            "keep activity levels low.",
        ),
    ),
)

_EPA_PM = (
    "心脏病或肺病患者、老年人、儿童以及社会经济地位较低的人",
    "People with heart or lung disease, older adults, children, and people of lower socioeconomic status",
)
_EPA_O3 = (
    "肺病（如哮喘）患者、儿童、老年人、户外活动多的人（包括户外工作者）、有某些基因变异的人以及某些营养摄入不足的人",
    "People with lung disease (such as asthma), children, older adults, people who are active outdoors "
    "(including outdoor workers), people with certain genetic variants, and people with diets limited in "
    "certain nutrients",
)
# EPA TAD pollutant-specific sensitive groups, shown for a pollutant whose index exceeds 100 (as in China).
_EPA_SENSITIVE = {
    "pm25": _EPA_PM,
    "pm10": _EPA_PM,
    "o3": _EPA_O3,
    "o3_8h": _EPA_O3,
    "co": ("心脏病患者", "People with heart disease"),
    "so2": ("哮喘患者、儿童和老年人", "People with asthma, children, and older adults"),
    "no2": ("哮喘患者、儿童和老年人", "People with asthma, children, and older adults"),
}


def level(aqi: int) -> int:
    """Return the category level 1-6 (the same AQI bands in both systems)."""
    return next((k + 1 for k, top in enumerate(_LEVEL_TOPS) if aqi <= top), 6)


def category(standard: Standard, aqi: int) -> Category:
    table = EPA_CATEGORIES if standard is Standard.EPA_2024 else CHINA_CATEGORIES
    return table[level(aqi) - 1]


def advice(standard: Standard, aqi: int, iaqi: Mapping[str, int]) -> dict:
    """Return health effects, measures and the sensitive groups of each pollutant above 100."""
    k = level(aqi) - 1
    if standard is Standard.EPA_2024:
        (effects_zh, effects_en), (measures_zh, measures_en) = _EPA_ADVICE[k]
        groups = _EPA_SENSITIVE
    else:
        new = standard is Standard.HJ633_2026
        effects_zh, measures_zh = (_CHINA_ADVICE_2026 if new else _CHINA_ADVICE_2012)[k]
        effects_en, measures_en = (_CHINA_ADVICE_2026_EN if new else _CHINA_ADVICE_2012_EN)[k]
        groups = _CHINA_SENSITIVE_2026 if new else {}
    return {
        "health_effects": {"zh": effects_zh, "en": effects_en},
        "measures": {"zh": measures_zh, "en": measures_en},
        "sensitive_groups": _sensitive_groups(groups, iaqi),
    }


def _sensitive_groups(groups: Mapping[str, tuple[str, str]], iaqi: Mapping[str, int]) -> list[dict]:
    # Pollutants sharing a text (PM10 and PM2.5; both O3 averages) are listed once, together.
    merged: dict[tuple[str, str], list[str]] = {}
    for p in POLLUTANTS:
        if p in groups and iaqi.get(p, 0) > 100:
            merged.setdefault(groups[p], []).append(p)
    return [{"pollutants": ps, "zh": zh, "en": en} for (zh, en), ps in merged.items()]
