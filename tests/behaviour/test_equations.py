"""Each behavioural equation against an answer computed by hand."""

import math

import numpy as np
import pytest

from sim.behaviour import (
    accounting,
    brand,
    choice,
    complaints,
    prices,
    satisfaction,
    segments,
    trust,
    value,
    word_of_mouth,
)


def test_delivered_value_is_benefits_minus_price():
    # 4 * 0.7 + 1.5 * 0.5 - 0.1 * 30 = 2.8 + 0.75 - 3 = 0.55
    assert value.delivered_value(0.7, 30.0, 0.5, w_quality=4.0, w_price=0.1, w_image=1.5) == pytest.approx(0.55)


def test_delivered_value_broadcasts_customers_against_firms():
    quality = np.array([[0.5], [1.0]])  # two firms
    out = value.delivered_value(
        quality,
        np.array([[10.0], [20.0]]),
        np.zeros((2, 1)),
        w_quality=np.array([2.0, 4.0]),
        w_price=np.array([0.1, 0.0]),
        w_image=np.ones(2),
    )
    np.testing.assert_allclose(out, [[0.0, 2.0], [0.0, 4.0]])  # firms x customers


def test_care_effect_reaches_63_percent_at_its_scale():
    assert satisfaction.care_effect(2.0, effect=0.1, scale=2.0) == pytest.approx(0.1 * (1 - math.exp(-1)))
    assert satisfaction.care_effect(0.0, effect=0.1, scale=2.0) == 0.0


def test_experienced_quality_subtracts_severity_only_on_failure():
    out = satisfaction.experienced_quality(np.array([0.7, 0.7]), np.array([0.01, 0.01]), np.array([False, True]), 0.4)
    np.testing.assert_allclose(out, [0.71, 0.31])


SATISFACTION = dict(offset=1.0, performance_weight=6.0, adequate=0.7, slope=10.0, shortfall_weight=2.0, tolerance=0.05)


def test_an_adequate_experience_that_meets_expectations_gives_logistic_of_offset():
    assert satisfaction.satisfaction(0.7, 0.7, **SATISFACTION) == pytest.approx(1 / (1 + math.exp(-1)))


def test_better_performance_satisfies_more_even_when_it_was_expected():
    # 1 + 6 * (0.9 - 0.7) = 2.2, no gap to expectation
    assert satisfaction.satisfaction(0.9, 0.9, **SATISFACTION) == pytest.approx(1 / (1 + math.exp(-2.2)))


def test_a_shortfall_weighs_twice_a_surplus_and_small_gaps_are_tolerated():
    # 0.1 below expectation: 1 + 10 * -(2 * (0.1 - 0.05)) = 0 -> 0.5; 0.1 above: 1 + 10 * 0.05 = 1.5
    assert satisfaction.satisfaction(0.7, 0.8, **{**SATISFACTION, "performance_weight": 0.0}) == pytest.approx(0.5)
    assert satisfaction.satisfaction(0.7, 0.6, **{**SATISFACTION, "performance_weight": 0.0}) == pytest.approx(
        1 / (1 + math.exp(-1.5))
    )
    inside = satisfaction.satisfaction(np.array([0.66, 0.74]), 0.7, **{**SATISFACTION, "performance_weight": 0.0})
    np.testing.assert_allclose(inside, 1 / (1 + math.exp(-1.0)))


def test_a_joiner_expects_a_mix_of_the_promise_and_the_market_norm():
    assert satisfaction.formed_expectation(0.9, 0.7, promise_weight=0.25) == pytest.approx(0.75)


def test_expectation_moves_a_share_of_the_gap():
    assert satisfaction.adapt_expectation(0.7, 0.3, rate=0.25) == pytest.approx(0.6)


def test_only_dissatisfied_customers_below_propensity_complain():
    out = complaints.complains(np.array([True, True, False]), np.array([0.04, 0.04, 1.0]), np.array([0.03, 0.05, 0.0]))
    assert out.tolist() == [True, False, False]


def test_recovery_needs_a_complaint_and_a_low_draw():
    out = complaints.is_recovered(np.array([True, True, False]), 0.5, np.array([0.4, 0.6, 0.1]))
    assert out.tolist() == [True, False, False]


def test_trust_builds_slowly_and_falls_fast():
    assert trust.build_trust(0.6, 0.05) == pytest.approx(0.62)
    assert trust.erode_trust(0.6, 0.25) == pytest.approx(0.45)


def test_well_handled_failure_can_raise_trust():
    # 0.4 -> failure 0.4 * 0.75 = 0.3 -> recovered 0.3 + 0.3 * 0.7 = 0.51 > 0.4
    after = trust.trust_after_service(
        0.4,
        disappointed=True,
        recovered=True,
        unrecovered=False,
        gain=0.05,
        loss=0.25,
        recovery_boost=0.3,
        unrecovered_loss=0.25,
    )
    assert after == pytest.approx(0.51)


def test_unresolved_complaint_costs_twice():
    # 0.8 * 0.75 = 0.6, then * 0.75 = 0.45
    after = trust.trust_after_service(
        0.8,
        disappointed=True,
        recovered=False,
        unrecovered=True,
        gain=0.05,
        loss=0.25,
        recovery_boost=0.3,
        unrecovered_loss=0.25,
    )
    assert after == pytest.approx(0.45)


def test_unfair_price_rise_loses_trust_above_the_fair_rise_over_the_reference():
    # 15% above the reference, 3% fair: 2 * 0.12 = 0.24; 2% above is fair; below is free; a zero reference nothing.
    rose = np.array([True, True, True, True])
    out = prices.unfair_price_loss(
        np.array([100.0, 100.0, 100.0, 0.0]), np.array([115.0, 102.0, 80.0, 5.0]), rose, fair_rise=0.03, penalty=2.0
    )
    np.testing.assert_allclose(out, [0.24, 0.0, 0.0, 0.0])
    assert prices.unfair_price_loss(10.0, 100.0, True, fair_rise=0.0, penalty=2.0) == 1.0


def test_a_price_that_did_not_rise_this_period_costs_no_trust_however_high():
    assert prices.unfair_price_loss(100.0, 130.0, False, fair_rise=0.03, penalty=2.0) == 0.0


def test_the_end_of_a_promotion_is_judged_against_a_reference_the_promotion_barely_moved():
    # three months at 85 with 5% adaptation: 100 -> 99.25 -> 98.54 -> 97.86; back to 100 is a 2.2% rise: fair
    reference = 100.0
    for _ in range(3):
        reference = prices.adapt_reference(reference, 85.0, rate=0.05)
    assert reference == pytest.approx(100 - 15 * (1 - 0.95**3))
    assert prices.unfair_price_loss(reference, 100.0, True, fair_rise=0.03, penalty=2.0) == 0.0


def test_a_price_above_the_reference_is_a_loss_weighing_twice_a_gain():
    felt = prices.price_feeling(np.array([110.0, 90.0, 100.0]), 100.0, loss_aversion=2.0)
    np.testing.assert_allclose(felt, [-20.0, 10.0, 0.0])


def test_trust_in_unused_firms_drifts_to_the_prior():
    assert trust.forget(0.9, 0.5, 0.1) == pytest.approx(0.86)


def test_word_of_mouth_compounds_per_message():
    # two recommendations: 1 - 0.5 * 0.95^2 = 0.54875; then one warning: * 0.9
    assert trust.hear_word_of_mouth(0.5, 2, 1, gain=0.05, loss=0.1) == pytest.approx(0.54875 * 0.9)


def test_tier_perk_gold_beats_silver():
    out = value.tier_perk(np.array([0, 12, 40]), silver_after=12, gold_after=36, silver_perk=2.0, gold_perk=5.0)
    assert out.tolist() == [0.0, 2.0, 5.0]


def test_tier_counts_thresholds_passed():
    assert value.tier(np.array([0, 11, 12, 35, 36]), silver_after=12, gold_after=36).tolist() == [0, 0, 1, 1, 2]


def test_relational_bond_grows_towards_its_size():
    assert value.relational_bond(12, bond=2.0, months=12.0) == pytest.approx(2.0 * (1 - math.exp(-1)))


def test_exit_fee_waived_only_at_contract_end():
    tenure = np.array([0, 10, 11, 12, 23])
    assert value.fee_applies(tenure, 12).tolist() == [True, True, False, True, False]
    assert value.fee_applies(tenure, 0).all()


def test_exit_barrier_prices_money_and_adds_utils():
    # 0.1 * (50 + 20 + 3) + 1.5 + 1.0 = 9.8: the tier perk lost on leaving is a switching cost too
    assert value.exit_barrier(
        w_price=0.1, exit_fee=50.0, points=20.0, perks=3.0, bond=1.5, effort=1.0
    ) == pytest.approx(9.8)


def test_logit_probabilities_for_a_one_util_gap():
    p = choice.choice_probabilities(np.array([1.0, 0.0]))
    assert p[0] == pytest.approx(math.e / (math.e + 1))


def test_probability_of_picks_each_customers_option():
    u = np.array([[1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(choice.probability_of(u, np.array([0, 1])), [math.e / (math.e + 1), 1 / (math.e + 1)])


def test_would_choose_again_agrees_with_the_probability_everywhere():
    rng = np.random.default_rng(5)
    utility = rng.normal(scale=2.0, size=(6, 50_000))
    option = rng.integers(0, 6, 50_000)
    for threshold in (0.1, 0.5, 0.9, 1.0):
        exact = choice.probability_of(utility, option) >= threshold
        np.testing.assert_array_equal(choice.would_choose_again(utility, option, threshold), exact)


def test_logit_choice_inverts_the_cumulative_probabilities():
    # equal utilities over 4 options: draws pick quarters
    u = np.zeros((4, 4))  # 4 options x 4 customers
    assert choice.logit_choice(u, np.array([0.1, 0.3, 0.6, 0.99])).tolist() == [0, 1, 2, 3]


def test_logit_choice_frequencies_match_probabilities():
    rng = np.random.default_rng(0)
    u = np.tile([[0.0], [1.0], [-1.0]], (1, 200_000))
    picks = choice.logit_choice(u, rng.random(200_000))
    expected = choice.choice_probabilities(u[:, 0])
    np.testing.assert_allclose(np.bincount(picks, minlength=3) / 200_000, expected, atol=0.004)


def test_review_probability_depends_on_prompt():
    probability = choice.review_probability(np.array([False, True, False]), base=0.03, prompted_probability=0.2)
    assert (np.array([0.04, 0.04, 0.01]) < probability).tolist() == [False, True, True]


def test_satisfied_recommend_dissatisfied_warn():
    said = word_of_mouth.what_customers_say(
        np.array([0.9, 0.9, 0.3, 0.6, 0.3]),
        np.array([True, True, True, True, False]),
        np.array([0.01, 0.5, 0.1, 0.0, 0.0]),
        very_satisfied=0.8,
        dissatisfied=0.4,
        talk_satisfied=0.05,
        talk_dissatisfied=0.3,
    )
    assert said.tolist() == [1, 0, -1, 0, 0]


def test_warnings_reach_more_contacts_than_recommendations():
    contacts = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]], dtype=np.int32)
    said = np.array([1, -1, 0, 0], dtype=np.int8)
    about = np.array([0, 1, 2, 2])
    good, bad = word_of_mouth.deliver(contacts, said, about, options=3, reach_satisfied=1, reach_dissatisfied=3)
    assert good[0].tolist() == [0, 1, 0, 0]  # customer 0 told its closest contact about firm 0
    assert bad[1].tolist() == [1, 0, 1, 1]  # customer 1 warned all three about firm 1
    assert good.sum() == 1 and bad.sum() == 3


def test_every_message_is_heard_once_by_each_contact_it_reaches():
    rng = np.random.default_rng(4)
    contacts = word_of_mouth.contact_network(rng, 300, 12)
    said = rng.choice(np.array([-1, 0, 0, 1], dtype=np.int8), 300)
    about = rng.integers(0, 4, 300).astype(np.int16)
    good, bad = word_of_mouth.deliver(contacts, said, about, options=4, reach_satisfied=5, reach_dissatisfied=30)
    expected = {1: np.zeros((4, 300), dtype=int), -1: np.zeros((4, 300), dtype=int)}
    for speaker in range(300):
        if said[speaker]:
            for listener in contacts[speaker, : 5 if said[speaker] > 0 else 12]:  # a reach beyond the list: all of it
                expected[int(said[speaker])][about[speaker], listener] += 1
    np.testing.assert_array_equal(good, expected[1])
    np.testing.assert_array_equal(bad, expected[-1])


def test_word_of_mouth_about_no_option_or_to_no_customer_is_refused_not_counted_astray():
    contacts = np.array([[1], [0]], dtype=np.int32)
    said = np.array([1, -1], dtype=np.int8)
    with pytest.raises(ValueError, match="outside 0 to options - 1"):
        word_of_mouth.deliver(contacts, said, np.array([0, 2]), options=2, reach_satisfied=1, reach_dissatisfied=1)
    with pytest.raises(ValueError, match="outside the market"):
        word_of_mouth.deliver(
            np.array([[1], [7]], dtype=np.int32),
            said,
            np.array([0, 1]),
            options=2,
            reach_satisfied=1,
            reach_dissatisfied=1,
        )
    with pytest.raises(ValueError, match="int32 arrays of shape"):
        word_of_mouth.deliver(
            contacts,
            said,
            np.array([0, 1]),
            options=2,
            reach_satisfied=1,
            reach_dissatisfied=1,
            into=(np.zeros((2, 2), np.int64), np.zeros((2, 2), np.int32)),
        )


def test_contact_network_has_no_self_contacts():
    contacts = word_of_mouth.contact_network(np.random.default_rng(1), 50, 10)
    assert contacts.shape == (50, 10)
    assert not (contacts == np.arange(50)[:, None]).any()


def test_spend_grows_and_serving_cost_falls_with_tenure():
    assert accounting.spend_multiplier(36, growth=1.0, months=36.0) == pytest.approx(1 + (1 - math.exp(-1)))
    assert accounting.serving_cost_multiplier(0, floor=0.5, months=24.0) == pytest.approx(1.0)
    assert accounting.serving_cost_multiplier(24, floor=0.5, months=24.0) == pytest.approx(0.5 + 0.5 * math.exp(-1))


def test_period_discount_rate_compounds_to_annual():
    d = accounting.period_discount_rate(0.1, 1.0)
    assert (1 + d) ** 12 == pytest.approx(1.1)
    assert accounting.discount_factor(d, 12) == pytest.approx(1 / 1.1)


def test_closed_form_clv():
    # m = 10, r = 0.8, d = 0.01: 10 * 1.01 / 0.21
    assert accounting.closed_form_clv(10.0, 0.8, 0.01) == pytest.approx(48.0952, rel=1e-4)
    # two periods only: 10 + 10 * 0.8 / 1.01
    assert accounting.closed_form_clv(10.0, 0.8, 0.01, periods=2) == pytest.approx(10 + 8 / 1.01)


def test_brand_image_fades_without_investment_and_renews_with_it():
    assert brand.update_image(0.5, 0.0, decay=0.02, effect=0.05, scale=1.0) == pytest.approx(0.49)
    renewed = 0.49 + 0.05 * (1 - math.exp(-1)) * 0.51
    assert brand.update_image(0.5, 1.0, decay=0.02, effect=0.05, scale=1.0) == pytest.approx(renewed)


def test_dick_and_basu_segments():
    codes = segments.loyalty_segment(
        np.array([True, True, False, False]), np.array([24, 2, 24, 2]), patronage_months=12
    )
    assert [segments.SEGMENT_NAMES[c] for c in codes] == ["true", "latent", "spurious", "none"]


def test_every_prompt_is_a_chance_of_its_own_to_reconsider():
    # habit 0.1, two prompts at 0.2: 1 - 0.9 * 0.8^2 = 0.424; no prompt: the habit alone
    probability = choice.review_probability(np.array([0, 1, 2]), base=0.1, prompted_probability=0.2)
    np.testing.assert_allclose(probability, [0.1, 0.28, 0.424])
    assert (np.array([0.4, 0.4]) < probability[[2, 0]]).tolist() == [True, False]
