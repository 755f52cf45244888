"""Drug names as prescribers and exports write them resolve to one canonical name."""

from __future__ import annotations

import pytest

from cdss.knowledge import UnknownDrugError
from cdss.knowledge.names import candidates, normalize, split_combination


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("warfarin", "warfarin"),
        ("  WARFARIN ", "warfarin"),
        ("Isosorbide   Mononitrate", "isosorbide mononitrate"),
        ("metoprolol succinate", "metoprolol"),
        ("Metoprolol Succinate ER", "metoprolol"),
        ("metoprolol tartrate", "metoprolol"),
        ("metformin hydrochloride extended release", "metformin"),
        ("losartan potassium", "losartan"),
        ("potassium chloride", "potassium chloride"),
        ("Potassium Chloride Extended Release", "potassium chloride"),
        ("atorvastatin calcium 20 mg tablet", "atorvastatin"),
        ("esomeprazole magnesium", "esomeprazole"),
        ("amlodipine besylate", "amlodipine"),
        ("sodium valproate", "valproate"),
        ("aspirin 81 mg", "aspirin"),
        ("acetylsalicylic acid", "aspirin"),
        ("paracetamol (acetaminophen)", "paracetamol"),
        ("acetaminophen", "paracetamol"),
        ("Tylenol", "paracetamol"),
        ("salbutamol (albuterol) inhaler", "salbutamol"),
        ("albuterol sulfate HFA inhaler", "salbutamol"),
        ("fluticasone propionate inhaler", "fluticasone"),
        ("rifampin", "rifampicin"),
        ("frusemide", "furosemide"),
        ("Sulfamethoxazole and Trimethoprim", "co-trimoxazole"),
        ("TMP-SMX", "co-trimoxazole"),
        ("dabigatran etexilate mesylate", "dabigatran"),
        ("nitroglycerin sublingual spray", "glyceryl trinitrate"),
    ],
)
def test_resolve(curated, written, canonical):
    assert curated.resolve(written) == canonical
    assert curated.drugs[curated.drug_id(written)] == canonical


@pytest.mark.parametrize(
    ("written", "ingredients"),
    [
        ("budesonide-formoterol inhaler", ("budesonide", "formoterol")),
        ("fluticasone/salmeterol", ("fluticasone", "salmeterol")),
        ("sacubitril and valsartan", ("sacubitril", "valsartan")),
        ("paracetamol + codeine", ("paracetamol", "codeine")),
        ("Losartan Potassium-Hydrochlorothiazide", ("losartan", "hydrochlorothiazide")),
        ("co-trimoxazole", ("co-trimoxazole",)),
        ("warfarin", ("warfarin",)),
    ],
)
def test_resolve_all(curated, written, ingredients):
    assert curated.resolve_all(written) == ingredients


def test_resolve_of_a_combination_points_to_resolve_all(curated):
    with pytest.raises(UnknownDrugError, match="combination of budesonide, formoterol"):
        curated.resolve("budesonide-formoterol inhaler")


@pytest.mark.parametrize("written", ["", "potassium", "unobtainium", "warfarin-unobtainium"])
def test_unknown_names_raise_naming_the_name(curated, written):
    with pytest.raises(UnknownDrugError) as caught:
        curated.resolve_all(written)
    assert repr(written) in str(caught.value)
    assert isinstance(caught.value, KeyError)


def test_unknown_drug_error_names_the_missing_ingredient(curated):
    with pytest.raises(UnknownDrugError, match="ingredient 'unobtainium'"):
        curated.resolve_all("warfarin-unobtainium")


def test_resolution_is_cached(curated):
    curated.drug_id("Metoprolol Succinate ER")
    assert "Metoprolol Succinate ER" in curated._id_cache


def test_helpers():
    assert normalize("  Foo\tBAR  ") == "foo bar"
    assert candidates("paracetamol (acetaminophen)")[:3] == [
        "paracetamol (acetaminophen)",
        "paracetamol acetaminophen",
        "paracetamol",
    ]
    assert split_combination("budesonide/formoterol 200/6 inhaler") == ["budesonide", "formoterol"]
