"""CDSSEnv: Gymnasium's contract, the episode mechanics, fixed cohorts, no leakage, cohorts of
real records, what requests reveal, and the reward variants in play."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from cdss.env import (
    CONSERVATIVE_DECISIONS,
    ENV_ID,
    FEATURES,
    N_STATES,
    Action,
    CDSSEnv,
    FuzzyRewardTable,
    RecordSampler,
    RewardTable,
    decode,
    encode,
)
from cdss.env.observation import ROW_STATE, STATUS_UNKNOWN, bucket_order_severe, summarize
from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, PatientRecord
from tests.conftest import shared_path

EnvFactory = Callable[..., CDSSEnv]
KNOWN = FEATURES.index("known_severity")
HIDDEN_DRUGS = FEATURES.index("hidden_drugs")
LAB_STATUS = FEATURES.index("lab_status")
CONDITION_STATUS = FEATURES.index("condition_status")
REQUESTS = FEATURES.index("requests")

# Warfarin and fluconazole interact at major; fluconazole's QT rules read the QTc and the
# potassium (both normal here), warfarin's the INR.
WARFARIN_PATIENT = PatientRecord(
    age=72,
    sex="F",
    drugs=("warfarin", "metoprolol"),
    conditions=frozenset({"atrial_fibrillation"}),
    labs={"inr": 2.5, "egfr": 68.0, "qtc": 430.0, "potassium": 4.2},
)


def play(env: gym.Env, actions: list[int], **reset: object) -> list[tuple]:
    """Observations, rewards and flags of a fixed action sequence."""
    observation, info = env.reset(**reset)
    trace = [(observation.tolist(), info)]
    for action in actions:
        observation, reward, terminated, truncated, info = env.step(action)
        trace.append((observation.tolist(), reward, terminated, truncated, info))
        if terminated or truncated:
            break
    return trace


# --- Gymnasium's contract ------------------------------------------------------------------


def test_registered_env_passes_the_env_checker_with_warnings_as_errors() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(ENV_ID)
        check_env(env.unwrapped)
        env.close()


def test_spaces_and_belief_size(make_env: EnvFactory) -> None:
    env = make_env()
    assert env.action_space == gym.spaces.Discrete(6)
    assert env.observation_space.nvec.tolist() == [5, 3, 3, 3, 3, 4]
    assert env.n_belief_states == N_STATES == 1620


def test_reset_with_the_same_seed_gives_the_same_episode(make_env: EnvFactory) -> None:
    env = make_env(missing=40)
    actions = [Action.REQUEST_LABS, Action.REQUEST_MEDS, Action.WARN]
    first = [play(env, actions, seed=s) for s in (3, 4)]
    for _ in range(5):
        env.reset()  # move the stream on: a seeded reset must not depend on it
    again = [play(env, actions, seed=s) for s in (3, 4)]
    assert first == again
    assert first[0] != first[1]


def test_a_seeded_training_stream_is_reproducible(make_env: EnvFactory) -> None:
    def stream(env: CDSSEnv) -> list[list[int]]:
        env.reset(seed=9)
        return [env.reset()[0].tolist() for _ in range(1000)]  # crosses a batch boundary

    assert stream(make_env()) == stream(make_env())


def test_bad_arguments_fail_early(make_env: EnvFactory) -> None:
    for missing in (-1, 96, 12.5):
        with pytest.raises(ValueError):
            make_env(missing=missing)
    env = make_env()
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(6)
    env.step(Action.APPROVE)
    with pytest.raises(RuntimeError):
        env.step(Action.APPROVE)


def test_env_pickles(make_env: EnvFactory) -> None:
    env = make_env()
    env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env))
    assert clone.step(Action.WARN)[1:3] == env.step(Action.WARN)[1:3]


# --- one episode ---------------------------------------------------------------------------


def test_a_decision_ends_the_episode_with_the_table_reward(make_env: EnvFactory) -> None:
    env = make_env(missing=0)
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole"})
    _, reward, terminated, truncated, info = env.step(Action.APPROVE)
    assert (reward, terminated, truncated) == (-10.0, True, False)
    assert info == {
        "true_risk": 3,
        "correct_action": Action.BLOCK,
        "decision": Action.APPROVE,
        "requests": 0,
    }


def test_a_request_reveals_its_group_at_its_cost(make_env: EnvFactory) -> None:
    env = make_env()
    hide = ["drugs.warfarin", "labs.inr", "conditions.ckd"]
    observation, info = env.reset(
        options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": hide}
    )
    assert info == {"order": "fluconazole"}  # nothing of the truth before the end
    assert observation[KNOWN] == 0 and observation[HIDDEN_DRUGS] == 1

    observation, reward, terminated, truncated, info = env.step(Action.REQUEST_MEDS)
    assert (reward, terminated, truncated) == (-0.5, False, False)
    assert info == {"request": "drugs", "revealed": ("drugs.warfarin",)}
    assert observation[KNOWN] == 3 and observation[HIDDEN_DRUGS] == 0
    assert observation[REQUESTS] == 1

    _, reward, _, _, info = env.step(Action.REQUEST_MEDS)  # nothing hidden any more
    assert reward == -1.0 and info["revealed"] == ()
    _, reward, _, _, info = env.step(Action.REQUEST_LABS)
    assert reward == -0.5 and info["revealed"] == ("labs.inr",)
    assert env.hidden_facts() == ("conditions.ckd",)


def test_an_empty_group_costs_the_empty_request_price(make_env: EnvFactory) -> None:
    env = make_env()
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": []})
    assert env.step(Action.REQUEST_HISTORY)[1] == -1.0


def test_the_step_limit_truncates_with_the_miss_penalty(make_env: EnvFactory) -> None:
    env = make_env(max_steps=3)
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": ["labs.inr"]})
    env.step(Action.REQUEST_MEDS)
    env.step(Action.REQUEST_LABS)
    observation, reward, terminated, truncated, info = env.step(Action.REQUEST_HISTORY)
    assert (reward, terminated, truncated) == (-1.0 - 10.0, False, True)
    assert info["decision"] is None and info["true_risk"] == 3 and info["requests"] == 3
    assert observation[REQUESTS] == 3


def test_the_requests_feature_caps_at_three(make_env: EnvFactory) -> None:
    env = make_env(max_steps=6)
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole"})
    features = [env.step(Action.REQUEST_LABS)[0][REQUESTS] for _ in range(5)]
    assert features == [1, 2, 3, 3, 3]


def test_the_oracle_action_is_the_right_decision(make_env: EnvFactory) -> None:
    env = make_env(missing=60)
    env.reset(seed=0)
    for _ in range(300):
        env.reset()
        right = env.oracle_action()
        info = env.step(right)[4]
        assert right == info["correct_action"] and info["decision"] == right


def test_render_ansi_describes_the_belief(make_env: EnvFactory) -> None:
    env = make_env(render_mode="ansi")
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": ["labs.inr"]})
    text = env.render()
    assert "fluconazole" in text and "labs.inr" in text


# --- exact orders ---------------------------------------------------------------------------


def test_a_record_is_played_with_exactly_the_given_facts_hidden(
    make_env: EnvFactory, kb: KnowledgeBase
) -> None:
    env = make_env(missing=95)  # the env's own rate plays no part here
    observation, _ = env.reset(
        options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": []}
    )
    severe = int(bucket_order_severe(kb.severe_counts[kb.drug_id("fluconazole")]))
    assert observation.tolist() == [3, 0, 0, 0, severe, 0]
    observation, _ = env.reset(
        options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": ["labs.inr"]}
    )
    assert observation[LAB_STATUS] == 0  # no rule of fluconazole reads the INR
    observation, _ = env.reset(
        options={"record": WARFARIN_PATIENT, "order": "metformin", "hide": ["labs.egfr"]}
    )
    assert observation[LAB_STATUS] == STATUS_UNKNOWN  # metformin's eGFR rules
    assert env.current_record() == (WARFARIN_PATIENT, "metformin")


@pytest.mark.parametrize(
    ("hide", "error"),
    [
        (["labs.alt"], ValueError),  # not measured in this record
        (["drugs.aspirin"], ValueError),  # not taken
        (["conditions.fever"], ValueError),
        (["allergies.penicillin"], ValueError),
        (["drugs.not-a-drug"], KeyError),
    ],
)
def test_an_impossible_hide_list_fails(make_env: EnvFactory, hide: list[str], error: type) -> None:
    with pytest.raises(error):
        make_env().reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole", "hide": hide})


def test_reset_options_are_checked(make_env: EnvFactory) -> None:
    env = make_env()
    with pytest.raises(ValueError):
        env.reset(options={"record": WARFARIN_PATIENT})  # no order
    with pytest.raises(ValueError):
        env.reset(options={"cohort_index": 0})  # no cohort loaded
    with pytest.raises(ValueError):
        env.reset(options={"patient": 1})


def test_a_fixed_cohort_plays_the_same_orders_for_everyone(make_env: EnvFactory) -> None:
    first, second = make_env(missing=40), make_env(missing=40)
    cohort = first.make_cohort(seed=123, size=300)
    again = second.make_cohort(seed=123, size=300)
    assert cohort.rows == again.rows
    assert make_env(missing=40).make_cohort(seed=124, size=300).rows != cohort.rows
    first.load_cohort(cohort)
    first.reset(seed=5)  # the env's own stream plays no part in a cohort order
    actions = [Action.REQUEST_LABS, Action.REQUEST_HISTORY, Action.BLOCK]
    for index in (0, 17, 299):
        one = play(first, actions, options={"cohort_index": index})
        two = play(second, actions, options={"cohort_index": index, "cohort": again})
        assert one == two
    assert abs(sum(cohort.risk_mix().values()) - 1) < 1e-9


# --- no leakage -----------------------------------------------------------------------------


def _with(record: PatientRecord, **changes: object) -> PatientRecord:
    fields = {name: getattr(record, name) for name in ("age", "sex", "drugs", "conditions", "labs")}
    return PatientRecord(**{**fields, **changes})


@pytest.mark.parametrize(
    ("order", "other", "hide", "hide_other", "reveal"),
    [
        (  # the hidden current drug is harmless instead of interacting
            "fluconazole",
            _with(WARFARIN_PATIENT, drugs=("paracetamol", "metoprolol")),
            ["drugs.warfarin"],
            ["drugs.paracetamol"],
            Action.REQUEST_MEDS,
        ),
        (  # the hidden eGFR contraindicates metformin instead of being normal
            "metformin",
            _with(WARFARIN_PATIENT, labs={"inr": 2.5, "egfr": 25.0}),
            ["labs.egfr"],
            ["labs.egfr"],
            Action.REQUEST_LABS,
        ),
        (  # the hidden condition slot holds liver disease instead of nothing
            "metformin",
            _with(WARFARIN_PATIENT, conditions=frozenset({"atrial_fibrillation", "liver_disease"})),
            ["conditions.liver_disease"],
            ["conditions.liver_disease"],
            Action.REQUEST_HISTORY,
        ),
    ],
    ids=["drug", "lab", "condition"],
)
def test_changing_a_hidden_fact_changes_nothing_until_revealed(
    make_env: EnvFactory,
    order: str,
    other: PatientRecord,
    hide: list[str],
    hide_other: list[str],
    reveal: int,
) -> None:
    env = make_env()
    base = {"record": WARFARIN_PATIENT, "order": order, "hide": hide}
    changed = {"record": other, "order": order, "hide": hide_other}
    others = [a for a in (Action.REQUEST_MEDS, Action.REQUEST_LABS, Action.REQUEST_HISTORY)
              if a != reveal]  # fmt: skip

    # Everything the agent sees (observations, rewards, flags) agrees before the reveal ...
    for actions in ([*others, Action.WARN], [Action.APPROVE]):
        seen = [step[:4] for step in play(env, actions, options=base)[:-1]]
        seen_changed = [step[:4] for step in play(env, actions, options=changed)[:-1]]
        assert seen == seen_changed
    # ... and the test is not vacuous: the request shows the difference.
    after = play(env, [reveal], options=base)[1][0]
    after_changed = play(env, [reveal], options=changed)[1][0]
    assert after[KNOWN] != after_changed[KNOWN]


def test_hidden_values_never_reach_the_belief_state(kb: KnowledgeBase) -> None:
    """Over random tables: the state before a group is revealed ignores its hidden facts."""
    rng = np.random.default_rng(0)
    n = 2000

    def levels(shape: tuple[int, int]) -> np.ndarray:
        return rng.integers(0, 5, shape).astype(np.int8)

    masks = {
        "drug": rng.random((n, 8)) < 0.4,
        "lab": rng.random((n, 5)) < 0.4,
        "condition": rng.random((n, 15)) < 0.4,
    }
    common = {
        "true_risk": np.zeros(n, dtype=np.int64),
        "order": np.zeros(n, dtype=np.int64),
        "order_severe": rng.integers(0, 3, n),
        "drug_hidden": masks["drug"],
        "lab_hidden": masks["lab"],
        "lab_relevant": rng.random((n, 5)) < 0.5,
        "condition_hidden": masks["condition"],
        "condition_relevant": rng.random((n, 15)) < 0.5,
    }
    first = {"drug_levels": levels((n, 8)), "lab_levels": levels((n, 5))}
    first["condition_levels"] = levels((n, 15))
    second = {}
    for group in ("drug", "lab", "condition"):
        resampled = levels(first[f"{group}_levels"].shape)
        second[f"{group}_levels"] = np.where(masks[group], resampled, first[f"{group}_levels"])
    rows_first = summarize(**common, **first)
    rows_second = summarize(**common, **second)
    # state_0: nothing revealed yet. Every feature must agree.
    np.testing.assert_array_equal(rows_first[:, ROW_STATE], rows_second[:, ROW_STATE])
    # Revealing everything (state_7) may differ: the hidden facts are now seen.
    assert (rows_first[:, ROW_STATE + 7] != rows_second[:, ROW_STATE + 7]).any()


def test_encode_and_decode_are_inverse() -> None:
    for index in range(N_STATES):
        assert encode(decode(index)) == index
    assert encode((4, 2, 2, 2, 2, 3)) == N_STATES - 1
    with pytest.raises(ValueError):
        encode((5, 0, 0, 0, 0, 0))


# --- cohorts of real records, requests, the observation space --------------------------------


@pytest.fixture(scope="module")
def synthea_env(kb: KnowledgeBase) -> CDSSEnv:
    path = shared_path("data", "synthea_nguyen59")
    return CDSSEnv(kb=kb, cohort="synthea", synthea_path=str(path), cohort_batch=512)


def test_a_synthea_cohort_passes_the_env_checker_with_warnings_as_errors() -> None:
    path = shared_path("data", "synthea_ohdsi_dbt27")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = gym.make(ENV_ID, cohort="synthea", synthea_path=str(path))
        check_env(env.unwrapped)
        env.close()


def test_a_synthea_cohort_replays_its_records(synthea_env: CDSSEnv) -> None:
    actions = [Action.REQUEST_LABS, Action.WARN]
    assert [play(synthea_env, actions, seed=s) for s in (1, 2)] == [
        play(synthea_env, actions, seed=s) for s in (1, 2)
    ]
    assert isinstance(synthea_env.generator, RecordSampler)
    records = list(synthea_env.generator.records)
    cohort = synthea_env.make_cohort(seed=3, size=400)
    for index in range(0, 400, 7):
        assert cohort.patients.record(index, synthea_env.kb) in records


def test_synthea_gaps_stay_and_the_mechanism_adds_to_them(synthea_env: CDSSEnv) -> None:
    cohort = synthea_env.make_cohort(seed=4, size=4000)
    measured = cohort.patients.measured_labs
    assert (~measured).mean() > 0.3  # most Synthea patients have few labs
    assert not (cohort.masks.labs & ~measured).any()  # a gap is not a hidden fact
    assert abs(cohort.masks.labs[measured].mean() - 0.4) < 0.05


def test_an_unmeasured_relevant_lab_stays_unknown(make_env: EnvFactory) -> None:
    """Metformin reads the eGFR; a record without one shows it unknown, even after asking."""
    record = _with(WARFARIN_PATIENT, labs={"inr": 2.5})
    env = make_env()
    observation, _ = env.reset(options={"record": record, "order": "metformin", "hide": []})
    assert observation[LAB_STATUS] == STATUS_UNKNOWN
    observation, reward, _, _, info = env.step(Action.REQUEST_LABS)
    assert observation[LAB_STATUS] == STATUS_UNKNOWN
    assert info["revealed"] == () and reward == -1.0  # nothing to reveal: the empty price


@pytest.mark.parametrize("missing", [40, 80])
def test_each_request_reveals_exactly_its_groups_hidden_facts(
    make_env: EnvFactory, kb: KnowledgeBase, missing: int
) -> None:
    env = make_env(missing=missing)
    cohort = env.make_cohort(seed=8, size=300)
    env.load_cohort(cohort)
    patients, masks = cohort.patients, cohort.masks
    prefixes = {Action.REQUEST_MEDS: "drugs.", Action.REQUEST_LABS: "labs.",
                Action.REQUEST_HISTORY: "conditions."}  # fmt: skip
    revealed_any = 0
    for index in range(len(cohort)):
        hidden = {f"drugs.{kb.drugs[d]}" for d in patients.drugs[index][masks.drugs[index]]}
        hidden |= {f"labs.{lab}" for lab, h in zip(LABS, masks.labs[index], strict=True) if h}
        hidden |= {f"conditions.{c}" for c, h in zip(CONDITIONS, masks.conditions[index],
                                                      strict=True) if h}  # fmt: skip
        env.reset(options={"cohort_index": index})
        assert set(env.hidden_facts()) == hidden
        for action, prefix in prefixes.items():
            group = {fact for fact in hidden if fact.startswith(prefix)}
            *_, info = env.step(action)
            assert set(info["revealed"]) == group and len(info["revealed"]) == len(group)
            assert info["request"] == prefix[:-1]
            hidden -= group
            assert set(env.hidden_facts()) == hidden
            revealed_any += bool(group)
    assert revealed_any > 100


def test_every_observation_lies_in_the_observation_space(synthea_env: CDSSEnv) -> None:
    for env in (CDSSEnv(missing=60, cohort_batch=256), synthea_env):
        space = env.observation_space
        rng = np.random.default_rng(0)
        observation, _ = env.reset(seed=0)
        for _ in range(3000):
            assert space.contains(observation) and observation.dtype == space.dtype
            observation, _, terminated, truncated, _ = env.step(int(rng.integers(6)))
            if terminated or truncated:
                observation, _ = env.reset()


def test_the_fuzzy_reward_raises_the_stakes_for_an_old_patient(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, reward=FuzzyRewardTable(), cohort_batch=64)
    young = _with(WARFARIN_PATIENT, age=60)
    rewards = []
    for record in (young, WARFARIN_PATIENT):  # 72 ...
        env.reset(options={"record": record, "order": "fluconazole"})  # major
        rewards.append(env.step(Action.WARN)[1])
    env.reset(options={"record": _with(WARFARIN_PATIENT, age=80), "order": "fluconazole"})
    rewards.append(env.step(Action.WARN)[1])
    assert rewards == [-2.0, -2.0, -3.5]  # 80: score 3.5, half major and half contraindicated


def test_conservative_and_default_differ_only_where_they_should(kb: KnowledgeBase) -> None:
    env = CDSSEnv(kb=kb, reward=RewardTable(CONSERVATIVE_DECISIONS), cohort_batch=64)
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole"})
    assert env.step(Action.APPROVE)[1] == -20.0
    env.reset(options={"record": WARFARIN_PATIENT, "order": "fluconazole"})
    assert env.step(Action.BLOCK)[1] == 2.0
