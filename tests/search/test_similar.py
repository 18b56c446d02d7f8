"""The words "more like this" searches for (``similar.chosen``), the same rule on both backends."""

from __future__ import annotations

from expert_platform.search.similar import RELATED_MIN_POSTINGS, RELATED_POSTINGS_SHARE, chosen


def test_a_small_archive_keeps_every_word_in_weight_order():
    weighed = [("desalin", 3.0, 2), ("water", 2.0, 3), ("coast", 1.0, 3)]
    assert chosen(weighed, 3) == [("desalin", 3.0), ("water", 2.0), ("coast", 1.0)]


def test_a_large_archive_keeps_the_words_whose_proposals_fit_in_a_tenth_of_it():
    assert RELATED_POSTINGS_SHARE == 0.1 and RELATED_MIN_POSTINGS == 2000
    weighed = [("refuge", 0.09, 1_200), ("secur", 0.05, 15_000), ("pilgrimag", 0.06, 700), ("revenu", 0.05, 500),
               ("state", 0.05, 14_000)]
    # Budget at 20,000 proposals: 2,000 postings. refuge 1,200 + pilgrimag 700 = 1,900; revenu would make 2,400.
    assert chosen(weighed, 20_000) == [("refuge", 0.09), ("pilgrimag", 0.06)]
    # At 40,000 the budget is 4,000: revenu fits too, the common words still do not.
    assert chosen(weighed, 40_000) == [("refuge", 0.09), ("pilgrimag", 0.06), ("revenu", 0.05)]


def test_when_no_word_fits_the_one_held_by_the_fewest_proposals_is_kept():
    weighed = [("secur", 0.05, 15_000), ("cooper", 0.07, 9_000), ("measur", 0.06, 9_000)]
    assert chosen(weighed, 20_000) == [("cooper", 0.07)]
    assert chosen([], 20_000) == []
