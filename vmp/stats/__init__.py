"""The statistics the book and its studies use: paired t intervals over seeds (:mod:`.paired_t`),
t intervals with a seed and a clip part (:mod:`.intervals`), the cluster bootstrap
(:mod:`.bootstrap`), Holm's adjustment and the binomial test against chance (:mod:`.significance`),
the simulation that chose between the intervals (:mod:`.coverage`), and one training run judged
against the book's multi-seed records (:mod:`.agreement`).
"""
