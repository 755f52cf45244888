"""The prescription-safety environment: one order per episode, part of the record hidden."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from cdss.env.actions import CORRECT_ACTION, DECISIONS, GROUPS, N_ACTIONS, Action
from cdss.env.missingness import MCAR, Masks, MissingnessMechanism
from cdss.env.observation import (
    FEATURES,
    MAX_REQUESTS_FEATURE,
    N_GROUPS,
    N_STATES,
    NVEC,
    ROW_HIDDEN,
    ROW_REWARD,
    ROW_STATE,
    bucket_order_severe,
    observation_space,
    summarize,
)
from cdss.env.patients import (
    MAX_DRUGS,
    CohortSource,
    PatientGenerator,
    Patients,
    RecordSampler,
    patients_from_record,
)
from cdss.env.reward import RISK_LEVELS, RewardTable
from cdss.knowledge import CONDITIONS, LABS, KnowledgeBase, PatientRecord, load_curated

log = logging.getLogger(__name__)

MAX_MISSING = 95
COHORTS = ("generated", "synthea")
_LAB_FACTS = tuple(f"labs.{lab}" for lab in LABS)
_CONDITION_FACTS = tuple(f"conditions.{condition}" for condition in CONDITIONS)
_STATUS_WORDS = ("known normal", "known abnormal", "unknown")


@dataclass(frozen=True, eq=False)
class Cohort:
    """A frozen set of orders with their hidden-fact masks, for paired evaluation.

    Built by `CDSSEnv.make_cohort(seed, size)`: the same seed, size, knowledge base, missing
    rate and mechanism give the same orders with the same facts hidden, whatever the agent.
    """

    patients: Patients
    masks: Masks
    rows: tuple[tuple[int, ...], ...]  # per-order summaries, columns observation.ROW_FIELDS
    seed: int | None
    missing: int
    mechanism: str

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def true_risk(self) -> np.ndarray:
        """True risk per order: for metrics and reports, never for agents."""
        return self.patients.true_risk

    def risk_mix(self) -> dict[str, float]:
        """Share of orders at each true risk level, keyed by level name."""
        return dict(zip(RISK_LEVELS, self.patients.risk_mix().tolist(), strict=True))


def _rows(
    patients: Patients, masks: Masks, source: CohortSource, reward: RewardTable
) -> list[list[int]]:
    """Per-order summaries (observation.ROW_FIELDS) as Python ints for the step loop."""
    tables = source.tables
    order = patients.order
    return summarize(
        true_risk=patients.true_risk,
        order=order,
        order_severe=bucket_order_severe(tables.severe_counts[order]),
        drug_levels=patients.drug_levels,
        drug_hidden=masks.drugs,
        lab_levels=patients.lab_levels,
        lab_hidden=masks.labs,
        lab_relevant=tables.lab_relevant[order],
        condition_levels=patients.condition_levels,
        condition_hidden=masks.conditions,
        condition_relevant=tables.condition_relevant[order],
        lab_measured=patients.measured_labs,
        reward_class=reward.classes(patients),
    ).tolist()


class CDSSEnv(gym.Env):
    """A clinician orders a drug; decide APPROVE, WARN or BLOCK, or first ask for hidden facts.

    ## Description

    One episode is one order for one patient. The patient takes other drugs, has chronic
    conditions and up to five lab results (eGFR, potassium, INR, QTc, ALT); each of these facts
    is hidden from the agent with the configured `missing` percentage by a missingness
    mechanism (MCAR, MAR or MNAR). The ordered drug and the age are always known. The true risk
    of the order is the worst of its facts' contributions in the knowledge base: the
    interaction or duplicate-therapy level with each current drug, the contraindication level
    of each present condition, the level of each lab rule the measured value crosses.

    ## Action Space

    `Discrete(6)` (`cdss.env.Action`): 0 APPROVE, 1 WARN, 2 BLOCK end the episode;
    3 REQUEST_MEDS, 4 REQUEST_LABS, 5 REQUEST_HISTORY reveal every hidden fact of that group
    (current drugs, measured labs, condition slots) and take a step; a request's `info` names
    the facts it revealed.

    ## Observation Space

    `MultiDiscrete([5, 3, 3, 3, 3, 4])`, the belief features of `cdss.env.observation`,
    computed from the observed facts only:

    | feature            | values                                                          |
    |--------------------|-----------------------------------------------------------------|
    | `known_severity`   | worst risk over observed facts: 0 none .. 4 contraindicated     |
    | `hidden_drugs`     | current drugs hidden: 0, 1, 2 (two or more)                     |
    | `lab_status`       | labs read by a rule of the ordered drug: 0 known normal or none |
    |                    | relevant, 1 one known abnormal, 2 one hidden or never measured  |
    | `condition_status` | the same for the conditions that raise the ordered drug's risk  |
    | `order_severe`     | KB partners of the ordered drug at major or worse: 0, 1-3, 4+   |
    | `requests`         | requests made so far, capped at 3                               |

    A tabular agent indexes its table with `cdss.agents.encoder_for(observation_space)`
    (1620 belief states). The true risk never enters the observation.

    ## Starting State

    Training episodes are drawn `cohort_batch` orders at a time from `self.np_random`, for
    patients of the configured `cohort`:

    - `"generated"` (default): new records from the generator fitted to real record structure
      (`PatientGenerator`, `cdss.env.fitted`; the shipped fit is of the Apache-2.0 OHDSI
      dbt-synthea sample, or `generator_file`); every generated lab is measured.
    - `"synthea"`: the adult, living patients of the Synthea export at `synthea_path` as they
      are (`RecordSampler`), natural gaps included: a lab never measured stays unknown, and
      the mechanism hides facts on top of that.

    Either way `order_risk_share` of the orders carry a moderate or worse risk by
    construction. `reset(options=...)` plays a fixed order instead:

    - `{"cohort_index": i}` (optionally with `"cohort": Cohort`): order i of the cohort
      loaded by `load_cohort` (see `make_cohort`), with its fixed masks;
    - `{"record": PatientRecord, "order": str, "hide": ["labs.inr", "conditions.ckd",
      "drugs.warfarin", ...]}`: exactly that order with exactly those facts hidden.

    ## Rewards

    A decision earns the reward table's cell of (reward class, decision): the true risk for
    `default` and `conservative` (under-reacting to major and contraindicated risks costs
    twice as much), a membership-weighted mix of levels for `fuzzy` (`FuzzyRewardTable`).
    The default table:

    | true risk       | APPROVE | WARN | BLOCK |
    |-----------------|--------:|-----:|------:|
    | none            |      +2 |   -1 |    -2 |
    | minor           |      +2 |    0 |    -2 |
    | moderate        |      -3 |   +2 |     0 |
    | major           |     -10 |   -2 |    +2 |
    | contraindicated |     -10 |   -5 |    +2 |

    A request costs `request_cost` (0.5), or `empty_request_cost` (1.0) when nothing of its
    group was hidden, including a repeated request. Reaching the step limit without a decision
    adds `truncation_penalty` (-10, the miss penalty).

    ## Episode End

    Terminated on APPROVE, WARN or BLOCK; truncated when the `max_steps`-th step is a request.
    The final `info` holds `true_risk`, `correct_action`, `decision` (None when truncated)
    and `requests`; a request's `info` holds `request` (the group) and `revealed` (fact keys).

    ## Arguments

    - `kb`: the KnowledgeBase (default: the curated one shipped in `cdss.knowledge`).
    - `reward`: a RewardTable (default: the table above).
    - `mechanism`: a missingness mechanism (default: `MCAR()`).
    - `missing`: percentage of facts hidden, an integer in 0..95.
    - `max_steps`: step limit of an episode (default 4: up to three requests, then decide).
    - `order_risk_share`: share of training orders at moderate risk or worse (default 0.5).
    - `cohort_batch`: orders generated per vectorized batch of training episodes.
    - `max_drugs`: most current drugs of a generated patient (default 8).
    - `cohort`: "generated" (default) or "synthea" (see Starting State).
    - `synthea_path`: the Synthea CSV folder of `cohort="synthea"`.
    - `generator_file`: a fitted generator model (JSON) instead of the shipped one.
    - `render_mode`: None or "ansi" (a text summary of what the agent sees).

    ## Clinical assumptions

    - Risk decomposes over single facts and the levels are ordered, so the risk known from
      observed facts is the worst over them (Risk is an IntEnum; every KB rule reads one fact).
    - The system knows how many current drugs it cannot see (a medication count without
      names, as when a reconciliation is pending), not which ones.
    - A request returns the whole group at once, as a medication reconciliation, a lab panel
      or a history review would; it does not fail.
    - A lab never measured is not a fact: it contributes no risk and cannot be requested,
      and when a rule of the ordered drug reads it, `lab_status` says unknown throughout.
    - Generated cohorts follow the structure of real (synthetic) records, smoothed toward
      clinical priors where the records are few; they are plausible, not epidemiological.

    ## Version History

    - v0: first version; cohorts from a generator fitted to Synthea records, or Synthea
      records themselves; MAR and MNAR calibrated to the MCAR rate; fuzzy rewards.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}  # noqa: RUF012  (gymnasium API)

    def __init__(
        self,
        kb: KnowledgeBase | None = None,
        reward: RewardTable | None = None,
        mechanism: MissingnessMechanism | None = None,
        missing: int = 40,
        max_steps: int = 4,
        order_risk_share: float = 0.5,
        cohort_batch: int = 4096,
        max_drugs: int = MAX_DRUGS,
        cohort: str = "generated",
        synthea_path: str | None = None,
        generator_file: str | None = None,
        render_mode: str | None = None,
    ) -> None:
        if int(missing) != missing or not 0 <= missing <= MAX_MISSING:
            raise ValueError(f"missing is an integer percentage in 0..{MAX_MISSING}, got {missing}")
        if max_steps < 1 or cohort_batch < 1:
            raise ValueError("max_steps and cohort_batch must be >= 1")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        self.kb = kb if kb is not None else load_curated()
        self.reward = reward if reward is not None else RewardTable()
        self.mechanism = mechanism if mechanism is not None else MCAR()
        self.missing = int(missing)
        self.max_steps = int(max_steps)
        self.cohort_batch = int(cohort_batch)
        self.render_mode = render_mode
        self.cohort_kind = str(cohort)
        self.generator = self._cohort_source(
            max_drugs, float(order_risk_share), synthea_path, generator_file
        )
        self.order_risk_share = self.generator.order_risk_share

        self.action_space = gym.spaces.Discrete(N_ACTIONS)
        self.observation_space = observation_space()
        grid = np.indices(NVEC).reshape(len(NVEC), -1).T.astype(self.observation_space.dtype)
        grid.flags.writeable = False
        self._templates = list(grid)  # observation of each state index, copied on return
        # The requests feature after r requests (capped), as a look-up.
        self._capped = tuple(min(r, MAX_REQUESTS_FEATURE) for r in range(self.max_steps + 1))

        self._decision_rewards = self.reward.class_table()
        self._request_cost = self.reward.request_cost
        self._empty_request_cost = self.reward.empty_request_cost
        self._truncation_penalty = self.reward.truncation_penalty

        self._drug_names = self.kb.drugs
        self._drug_facts = tuple(f"drugs.{name}" for name in self.kb.drugs)
        self._names_by_mask: tuple[dict[int, tuple[str, ...]], ...] = ({}, {}, {})
        self._batch_rows: list[list[int]] = []
        self._batch_patients: Patients | None = None
        self._batch_position = 0
        self.cohort: Cohort | None = None
        self._source: Patients | None = None
        self._source_index = 0
        self._drug_lists: list[list[int]] = []  # the source's drug slots as Python lists
        self._drug_lists_of: Patients | None = None
        self._row: Sequence[int] = ()
        self._revealed = 0
        self._requests = 0
        self._done = True
        log.info(
            "CDSSEnv: kb=%s (%d drugs), cohort=%s, missing=%d%% %r, max_steps=%d, "
            "order_risk_share=%.2f, %d belief states",
            self.kb.name, len(self.kb.drugs), self.cohort_kind, self.missing, self.mechanism,
            self.max_steps, self.order_risk_share, N_STATES,
        )  # fmt: skip

    def _cohort_source(
        self,
        max_drugs: int,
        order_risk_share: float,
        synthea_path: str | None,
        generator_file: str | None,
    ) -> CohortSource:
        """The patients of the configured cohort: fitted generator or Synthea records."""
        if self.cohort_kind == "generated":
            from cdss.env.fitted import load_model

            model = load_model(generator_file)
            return PatientGenerator(self.kb, max_drugs, order_risk_share, model=model)
        if self.cohort_kind != "synthea":
            raise ValueError(f"cohort must be one of {COHORTS}, got {self.cohort_kind!r}")
        if not synthea_path:
            raise ValueError("cohort='synthea' needs synthea_path, a Synthea CSV folder")
        from cdss.env.synthea import read_synthea

        records = read_synthea(synthea_path, self.kb)
        log.info(
            "Synthea cohort %s: %d records, %.1f%% of active medication rows mapped (%.1f%% "
            "naming a KB drug)",
            synthea_path, len(records), 100 * records.report.coverage,
            100 * records.report.kb_coverage,
        )  # fmt: skip
        return RecordSampler(self.kb, records.records, records.hospital_share, order_risk_share)

    @property
    def n_belief_states(self) -> int:
        """Rows of a tabular agent's table: the size of the raveled observation space."""
        return N_STATES

    # --- cohorts ------------------------------------------------------------------------

    def _draw(self, rng: np.random.Generator, size: int) -> tuple[Patients, Masks]:
        patients = self.generator.sample(rng, size)
        return patients, self.mechanism.sample(patients, self.missing, rng)

    def make_cohort(self, seed: int, size: int) -> Cohort:
        """A frozen cohort of `size` orders with their masks, from its own seed.

        Independent of the environment's own random state, so the test cohort is the same for
        every agent and training seed as long as the KB, missing rate and mechanism are.
        """
        patients, masks = self._draw(np.random.default_rng(seed), size)
        rows = tuple(tuple(row) for row in _rows(patients, masks, self.generator, self.reward))
        return Cohort(patients, masks, rows, seed, self.missing, self.mechanism.name)

    def load_cohort(self, cohort: Cohort) -> None:
        """Use `cohort` for `reset(options={"cohort_index": i})`."""
        if cohort.missing != self.missing or cohort.mechanism != self.mechanism.name:
            log.warning(
                "cohort built at missing=%d (%s) played in an env at missing=%d (%s)",
                cohort.missing, cohort.mechanism, self.missing, self.mechanism.name,
            )  # fmt: skip
        self.cohort = cohort

    def _new_batch(self) -> None:
        """Draw the next `cohort_batch` training orders from `self.np_random`."""
        patients, masks = self._draw(self.np_random, self.cohort_batch)
        self._batch_patients = patients
        self._batch_rows = _rows(patients, masks, self.generator, self.reward)
        self._batch_position = 0

    # --- episodes -----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start the next training order, or the order `options` names (see the class doc).

        Gymnasium's `super().reset(seed=seed)` is called only with a seed: without one it does
        nothing, and this is the hottest call of a training loop.
        """
        if seed is not None:
            super().reset(seed=seed)
            self._batch_rows = []  # the next batch comes from the reseeded generator
        if options:
            row = self._row_from_options(options)
        else:
            position = self._batch_position
            if position >= len(self._batch_rows):
                self._new_batch()
                position = 0
            self._batch_position = position + 1
            self._source, self._source_index = self._batch_patients, position
            row = self._batch_rows[position]
        self._row = row
        self._revealed = 0  # bitmask of the groups requested so far
        self._requests = 0  # every step but the last is a request: requests == steps taken
        self._done = False
        return self._templates[row[ROW_STATE]].copy(), {"order": self._drug_names[row[1]]}

    def _row_from_options(self, options: Mapping[str, Any]) -> Sequence[int]:
        unknown = set(options) - {"cohort", "cohort_index", "record", "order", "hide"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}")
        if "record" in options:
            return self._row_from_record(
                options["record"], options.get("order"), options.get("hide", ())
            )
        if "cohort_index" in options:
            if "cohort" in options:
                self.load_cohort(options["cohort"])
            if self.cohort is None:
                raise ValueError("cohort_index needs a cohort: load_cohort(make_cohort(...)) first")
            index = int(options["cohort_index"])
            if not 0 <= index < len(self.cohort):
                raise IndexError(f"cohort_index {index} outside a cohort of {len(self.cohort)}")
            self._source, self._source_index = self.cohort.patients, index
            return self.cohort.rows[index]
        raise ValueError("reset options need 'cohort_index' or 'record' (with 'order')")

    def _row_from_record(
        self, record: PatientRecord, order: str | None, hide: Iterable[str]
    ) -> Sequence[int]:
        """Summarize one given order with exactly the `hide` facts hidden."""
        if order is None:
            raise ValueError("a 'record' reset needs the 'order' drug")
        patients = patients_from_record(self.kb, self.generator.tables, record, order)
        masks = Masks(
            drugs=np.zeros(patients.drugs.shape, dtype=bool),
            conditions=np.zeros(patients.conditions.shape, dtype=bool),
            labs=np.zeros(patients.labs.shape, dtype=bool),
        )
        for key in hide:
            self._hide_fact(patients, masks, key)
        self._source, self._source_index = patients, 0
        return _rows(patients, masks, self.generator, self.reward)[0]

    def _hide_fact(self, patients: Patients, masks: Masks, key: str) -> None:
        group, _, name = key.partition(".")
        if group == "drugs":
            slots = np.flatnonzero(patients.drugs[0] == self.kb.drug_id(name))
            if not len(slots):
                raise ValueError(f"cannot hide {key!r}: not among the record's drugs")
            masks.drugs[0, slots] = True
        elif group == "labs" and name in LABS:
            column = LABS.index(name)
            if np.isnan(patients.labs[0, column]):
                raise ValueError(f"cannot hide {key!r}: the record has no such measurement")
            masks.labs[0, column] = True
        elif group == "conditions" and name in CONDITIONS:
            masks.conditions[0, CONDITIONS.index(name)] = True
        else:
            raise ValueError(
                f"unknown fact {key!r}: expected drugs.<drug>, labs.<{'|'.join(LABS)}> or "
                "conditions.<condition key>"
            )

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() before reset() or after the episode ended: call reset()")
        row = self._row
        requests = self._requests
        if 0 <= action < 3:
            self._done = True
            observation = self._templates[row[ROW_STATE + self._revealed] + self._capped[requests]]
            reward = self._decision_rewards[row[ROW_REWARD]][action]
            risk = row[0]  # _final_info, inlined: the decision ends most episodes
            final: dict[str, Any] = {
                "true_risk": risk,
                "correct_action": CORRECT_ACTION[risk],
                "decision": DECISIONS[action],
                "requests": requests,
            }
            return observation.copy(), reward, True, False, final

        group = action - 3
        if not 0 <= group < N_GROUPS:
            raise ValueError(f"action must lie in 0..{N_ACTIONS - 1}, got {action}")
        bit = 1 << group
        hidden = 0 if self._revealed & bit else row[ROW_HIDDEN + group]
        self._revealed |= bit
        self._requests = requests = requests + 1
        if hidden:
            reward = -self._request_cost
            info = {"request": GROUPS[group], "revealed": self._fact_names(group, hidden)}
        else:
            reward = -self._empty_request_cost
            info = {"request": GROUPS[group], "revealed": ()}
        state = row[ROW_STATE + self._revealed] + self._capped[requests]
        observation = self._templates[state].copy()
        if requests < self.max_steps:
            return observation, reward, False, False, info

        self._done = True
        info.update(self._final_info(None))
        return observation, reward + self._truncation_penalty, False, True, info

    def _observe(self) -> np.ndarray:
        """A fresh copy of the observation of the current belief state."""
        state = self._row[ROW_STATE + self._revealed] + self._capped[self._requests]
        return self._templates[state].copy()

    def _final_info(self, decision: Action | None) -> dict[str, Any]:
        risk = self._row[0]
        return {
            "true_risk": risk,
            "correct_action": CORRECT_ACTION[risk],
            "decision": decision,
            "requests": self._requests,
        }

    def oracle_action(self) -> int:
        """The right decision for the current order: for the oracle baseline only."""
        if self._source is None:
            raise RuntimeError("oracle_action() before reset()")
        return CORRECT_ACTION[self._row[0]]

    # --- names --------------------------------------------------------------------------

    def _fact_names(self, group: int, bitmask: int) -> tuple[str, ...]:
        """Fact keys ("labs.inr", ...) of the set bits of a group's hidden mask."""
        if group:
            names = self._names_by_mask[group].get(bitmask)
            if names is None:
                facts = _LAB_FACTS if group == 1 else _CONDITION_FACTS
                names = tuple(fact for j, fact in enumerate(facts) if bitmask >> j & 1)
                self._names_by_mask[group][bitmask] = names
            return names
        source = self._source
        if self._drug_lists_of is not source:  # once per batch or cohort, not per step
            assert source is not None  # a request comes after reset()
            self._drug_lists = source.drugs.tolist()
            self._drug_lists_of = source
        slots = self._drug_lists[self._source_index]
        drugs = []
        while bitmask:  # one pass per hidden drug, not per slot
            lowest = bitmask & -bitmask
            drugs.append(self._drug_facts[slots[lowest.bit_length() - 1]])
            bitmask ^= lowest
        return tuple(drugs)

    def hidden_facts(self) -> tuple[str, ...]:
        """Keys of the facts still hidden in the current episode (for explanations)."""
        return tuple(
            name
            for group in range(N_GROUPS)
            if not self._revealed >> group & 1
            for name in self._fact_names(group, self._row[ROW_HIDDEN + group])
        )

    def current_record(self) -> tuple[PatientRecord, str]:
        """The full record and ordered drug of the current episode (ground truth; not for
        agents: for explanations and tests)."""
        if self._source is None:
            raise RuntimeError("current_record() before reset()")
        order = self.kb.drugs[self._source.order[self._source_index]]
        return self._source.record(self._source_index, self.kb), order

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self._source is None:
            return "(no episode: call reset())"
        features = dict(zip(FEATURES, self._observe().tolist(), strict=True))
        order = self.kb.drugs[self._source.order[self._source_index]]
        return (
            f"order {order}: known severity {RISK_LEVELS[features['known_severity']]}, "
            f"hidden drugs {features['hidden_drugs']}, "
            f"labs {_STATUS_WORDS[features['lab_status']]}, "
            f"conditions {_STATUS_WORDS[features['condition_status']]}, "
            f"severe partners bucket {features['order_severe']}, "
            f"requests {self._requests} (step limit {self.max_steps}), "
            f"hidden {', '.join(self.hidden_facts()) or 'nothing'}"
        )
