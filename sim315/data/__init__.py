"""Files shipped with sim315: the repository's ``scenarios/`` and ``calibration/`` folders,
installed as ``sim315.data.scenarios`` and ``sim315.data.calibration`` (side by side, so that
a scenario's ``../calibration/...`` resolves inside the installed package)."""
