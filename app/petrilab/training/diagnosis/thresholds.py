"""The diagnosis's fixed values: the verdicts, their titles and priority, and every threshold the rules and
the advice use (each with the reason for its value)."""

VERDICTS = ("overfitting", "underfitting", "not_finished", "unrepresentative_validation",
            "unrepresentative_training", "good_fit", "diverged")
TOO_EARLY = "too_early"  # live only: fewer than MIN_EPOCHS_TO_JUDGE epochs so far

# When several verdicts apply, the first in this order is shown. A network
# that cannot learn (or diverged) must be fixed before anything else; a
# rising validation loss is the most costly thing to miss; a curve still
# falling makes the "settled" verdicts meaningless; the validation set's own
# problems come before conclusions drawn from comparing against it.
PRIORITY = ("underfitting", "overfitting", "not_finished", "unrepresentative_validation",
            "unrepresentative_training", "good_fit")

TITLES = {
    "good_fit": "Good fit",
    "overfitting": "Overfitting",
    "underfitting": "Underfitting",
    "not_finished": "Not finished",
    "unrepresentative_validation": "Unrepresentative validation set",
    "unrepresentative_training": "Unrepresentative training set",
    "diverged": "Training diverged",  # the loss blew up or stopped being a number (read before the others)
    TOO_EARLY: "Too early to tell",
}

# ---------------------------------------------------------------- thresholds

# Three points cannot tell a trend from noise; from four on the rules have a
# minimum, a tail and a noise estimate to work with.
MIN_EPOCHS_TO_JUDGE = 4

# Moving-median window: about a tenth of the epochs, so a long noisy run is
# smoothed more than a short one; at least 3 (ignores one odd epoch), at most
# 15 (wider windows flatten a real minimum into a plateau).
SMOOTH_FRACTION = 0.10
SMOOTH_MIN_WINDOW = 3
SMOOTH_MAX_WINDOW = 15

# "At the end" is the last third of the epochs (the part of the plot the
# workshop reads the verdict from), at least four epochs (fewer cannot be
# told from noise).
TAIL_FRACTION = 1 / 3
TAIL_MIN = 4

# A curve is "still falling" when its last third lies lower than the third
# before by at least 10 % of everything it has fallen so far AND 1 % of its
# current level (and by more than the noise, see SIGNIFICANCE). For a curve
# decaying like exp(-epoch / tau) the first holds while tau > ~n/4, i.e.
# while a clear part of the improvement is still ahead; the second ignores
# falls too small to be worth more epochs.
STILL_FALLING_OF_PROGRESS = 0.10
STILL_FALLING_OF_LEVEL = 0.01

# A change counts only when larger than twice the epoch-to-epoch noise
# (about 95 % of the jitter of a steady curve stays within that).
SIGNIFICANCE = 2.0
# "Clearly stopped" (see curves._trend): the fall is below what "still falling"
# needs by more than one noise deviation. In between, the noise hides which;
# then validation loss counts as still falling when training loss clearly does.
DOUBT = 1.0
FALLING, STOPPED, UNSURE = "falling", "stopped", "unsure"

# Underfitting, without knowing the task: a training loss that fell by less
# than 10 % from the first epoch has not learnt. (Keras' first-epoch loss is
# an average over an epoch that starts from random weights, so a network that
# learns at all usually falls by far more than this.)
FLAT_DECREASE = 0.10
# With a known task, a loss still at 90 % of a blind guess's loss (ln 2 for
# two classes, ln N for N classes) has learnt nothing, however it moves...
CHANCE_FRACTION = 0.90
# ...a loss that settled at 75 % or more of it is "high": the network stopped
# improving while still close to guessing...
HIGH_PLATEAU_FRACTION = 0.75
# ...and a flat curve well below the guess (an easy problem learnt in the
# first epoch) is not underfitting.
FLAT_BELOW_CHANCE = 0.50
# A training accuracy of 98 % or more is not underfitting, however flat the
# loss (a task learnt within the first epoch).
LEARNT_ACCURACY = 0.98
# In the first 10 epochs a network often stays close to a blind guess before
# it takes off (the demo data's ConvNet does for about 10 epochs): so a run
# this short is "not finished", with underfitting as a partial verdict when
# the loss has hardly moved.
EARLY_EPOCHS = 10
# A training loss that climbs 20 % above its lowest value is unstable: with a
# fixed learning rate, overfitting never makes the training loss rise. The
# climb must also be 5 % of the loss scale: 0.001 → 0.0015 near zero is not.
TRAIN_RISE = 0.20
TRAIN_RISE_OF_SCALE = 0.05

# Overfitting: the smoothed validation loss ended at least 10 % above its
# minimum (and above the noise), at least 3 epochs after it, while the
# training loss went on falling by at least 10 % after it. A rise of 5-10 %
# is listed as a partial verdict only.
OVERFIT_RISE = 0.10
OVERFIT_MIN_RISE = 0.05
OVERFIT_MIN_EPOCHS_AFTER = 3
TRAIN_KEEPS_FALLING = 0.10
# ...or had nothing left to fall: a training loss below 5 % of the loss scale
# means the training images are learnt by heart.
MEMORISED = 0.05
# Overfitting that has just begun (validation loss stopped, training loss
# still falling, gap large) needs the gap to have grown by a fifth over the
# last third: otherwise both have simply settled apart.
ONSET_GAP_GROWTH = 0.2

# Unrepresentative validation set: validation loss jitters by 10 % of its
# level or more from epoch to epoch, and at least twice as much (in loss
# units) as the training loss does (a noisy training loss is a learning-rate
# problem, not a validation-set one).
VAL_NOISE = 0.10
NOISE_RATIO = 2.0
# ...and, over the last third, by at least 4 % of the loss scale (a blind guess's loss): near a perfect
# score the loss is small and one or two of a few dozen validation images decide its ups and downs (the
# classification demo at 100 % test accuracy: ±0.034 at the end after ln 3 = 1.1 at the start is a fit).
VAL_NOISE_OF_SCALE = 0.04
# ...or validation loss stays below training loss by more than 10 % of it at
# the end. Dropout is active only while training, which raises the training
# loss; the margin grows by half the dropout rate so that alone is not blamed.
VAL_BETTER_MARGIN = 0.10
DROPOUT_MARGIN = 0.5

# A large gap (unrepresentative training set, or overfitting that has begun
# when training still falls): at the end, training loss is at most 60 % of
# validation loss (a gap of 40 % of the validation loss), AND the gap is at
# least 15 % of the loss scale (the blind-guess loss when known, else the
# first epoch's loss), so two losses both close to zero (0.02 and 0.05) do
# not make a "large" gap.
LARGE_GAP = 0.40
SMALL_GAP = 0.20  # below this the good fit's gap is called small, else moderate (words only)
GAP_OF_SCALE = 0.15

# Live verdicts are voted over the last 5 epochs: a verdict that holds for a
# single epoch on a noisy curve is not shown, a real change shows within 3.
LIVE_VOTES = 5

# Advice values: the workshop's dropout range is 20-50 %.
DROPOUT_START = 0.3
DROPOUT_MAX = 0.5
L2_START = 1e-4
L2_MAX = 1e-2
MIN_MORE_EPOCHS = 10
MIN_ADVISED_EPOCHS = 30  # "train longer" advises at least this many (the fixed length before early stopping)
VALIDATION_FRACTION_ADVISED = 0.3  # the top of the workshop's 10-30 %

# Settings that make a network underfit whatever its size: when the settings show one, its advice comes first
# (the advice check, benchmarks/advice_check.py, found "a bigger network" useless for them).
LR_FAR_LOW = 1e-4  # below this, steps are too small to learn in a few dozen epochs
LR_FAR_HIGH = 0.05  # above this, Adam and RMSprop jump over what they should learn
HEAVY_DROPOUT = 0.5
HEAVY_PENALTY = 1e-2  # L1 or L2
