"""The condition vocabulary: what a patient can say is wrong, and who can treat it.

Sources: NHS guidance summarised in ``shared/reference/capabilities.md`` (MTW minor injury
unit list; Kent & Medway UTC public guidance). Red flags are never ranked: the answer is 999.
A region file may override, per service, the conditions a service treats.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Condition:
    """One entry of the vocabulary.

    Attributes
    ----------
    code
        Machine name used in the API (``condition=sprain_strain``).
    label
        Plain-English label for the patient page.
    treated_by
        Service kinds that can treat it by default (``"ed"``, ``"utc"``, ``"miu"``).
    red_flag
        True when the only safe answer is "call 999".
    """

    code: str
    label: str
    treated_by: frozenset[str]
    red_flag: bool = False


_ALL = frozenset({"ed", "utc", "miu"})
_UTC_ED = frozenset({"ed", "utc"})
_ED = frozenset({"ed"})

CONDITIONS: dict[str, Condition] = {
    c.code: c
    for c in (
        Condition("sprain_strain", "Sprain or strain", _ALL),
        Condition("possible_fracture", "Possible broken bone (no deformity)", _UTC_ED),
        Condition("cut_wound", "Cut, graze or wound", _ALL),
        Condition("wound_infection", "Infected wound", _ALL),
        Condition("minor_burn", "Minor burn or scald", _ALL),
        Condition("bite_sting", "Insect or animal bite or sting", _ALL),
        Condition("minor_eye_injury", "Minor eye injury", _ALL),
        Condition("minor_head_injury", "Head injury, no loss of consciousness", _ALL),
        Condition("back_shoulder_chest_injury", "Back, shoulder or chest-wall injury", _ALL),
        Condition("finger_toe_dislocation", "Dislocated finger or toe", _UTC_ED),
        Condition("minor_illness", "Minor illness (fever, infection, vomiting)", _UTC_ED),
        Condition("abdominal_pain", "Stomach or abdominal pain", _UTC_ED),
        Condition("emergency_contraception", "Emergency contraception", _UTC_ED),
        Condition("minor_pregnancy_issue", "Minor pregnancy problem", _UTC_ED),
        Condition("major_injury", "Serious injury (deformity, major trauma)", _ED),
        Condition("overdose", "Overdose or poisoning", _ED),
        Condition("mental_health_crisis", "Mental health crisis", _ED),
        Condition("chest_pain", "Chest pain", _ED, red_flag=True),
        Condition("stroke_symptoms", "Stroke symptoms (face, arms, speech)", _ED, red_flag=True),
        Condition("breathing_difficulty", "Difficulty breathing", _ED, red_flag=True),
        Condition("loss_of_consciousness", "Loss of consciousness", _ED, red_flag=True),
        Condition("severe_bleeding", "Severe bleeding that will not stop", _ED, red_flag=True),
        Condition("severe_allergic_reaction", "Severe allergic reaction", _ED, red_flag=True),
    )
}

RED_FLAG_ADVICE = (
    "This could be a life-threatening emergency. Call 999 now. "
    "Do not wait for or travel to an urgent treatment centre or minor injury unit."
)
NHS_111_ADVICE = "If you are not sure where to go, call NHS 111 or use 111.nhs.uk."


def default_treats(kind: str) -> frozenset[str]:
    """Condition codes a service of ``kind`` treats unless the region file overrides it."""
    return frozenset(c.code for c in CONDITIONS.values() if kind in c.treated_by)
