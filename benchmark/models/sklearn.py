"""scikit-learn classifiers. Their knobs are the estimator's own parameters
(``get_params()``), so a suite searches exactly what scikit-learn documents."""

from __future__ import annotations

import importlib
import inspect
import os
from typing import Any

# Set by the tool, not searched: seeding, parallelism, logging, deprecated names.
NOT_SEARCHED = {"random_state", "n_jobs", "verbose", "warm_start", "probability", "penalty"}


class Estimator:
    """Builds ``module.cls(**fixed, **params)`` seeded with the trial's seed."""

    def __init__(self, path: str, fixed: dict[str, Any] | None = None, *,
                 calibrated: bool = False) -> None:
        self.module, self.cls = path.rsplit(".", 1)
        self.fixed = fixed or {}
        # SVC has no probabilities of its own (``probability=`` is deprecated
        # in scikit-learn 1.9): Platt scaling in CalibratedClassifierCV gives them.
        self.calibrated = calibrated
        self._problems: dict[tuple[str, str, str], str | None] = {}  # parameter_problem's answers

    def _class(self):
        return getattr(importlib.import_module(self.module), self.cls)

    def parameters(self) -> dict[str, Any]:
        return {name: value for name, value in self._class()().get_params().items()
                if name not in NOT_SEARCHED and name not in self.fixed and value != "deprecated"}

    def parameter_problem(self, name: str, value: Any) -> str | None:
        """scikit-learn's own complaint about ``name=value`` (the other parameters
        at their defaults), or None when it accepts the value. ``fit`` checks the
        parameters before it looks at the data, so fitting no rows at all checks
        them without training anything (a 4-row fit with ``max_iter: 1e9`` would
        not end)."""
        import warnings

        import numpy as np
        from sklearn.utils._param_validation import InvalidParameterError

        key = (name, type(value).__name__, repr(value))
        if key not in self._problems:
            problem = None
            estimator = self._class()(**{**self.fixed, name: value})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    estimator.fit(np.zeros((0, 1)), np.zeros(0))
                except InvalidParameterError as error:
                    problem = str(error)
                except Exception:  # the empty data, refused once the parameters passed
                    pass
            self._problems[key] = problem
        return self._problems[key]

    def __call__(self, input_shape: tuple[int, ...] | None = None, n_classes: int = 2, *,
                 seed: int = 0, **params: Any):
        cls = self._class()
        accepted = inspect.signature(cls).parameters
        seeded = {"random_state": seed} if "random_state" in accepted else {}
        fixed = dict(self.fixed)
        if fixed.get("n_jobs") == -1 and os.environ.get("BENCHMARK_THREADS"):
            # Several workers share the cores (execution.threads_per_worker).
            fixed["n_jobs"] = int(os.environ["BENCHMARK_THREADS"])
        estimator = cls(**fixed, **seeded, **params)
        if self.calibrated:
            from sklearn.calibration import CalibratedClassifierCV

            return CalibratedClassifierCV(estimator, ensemble=False)
        return estimator


ESTIMATORS = {
    "random_forest": (Estimator("sklearn.ensemble.RandomForestClassifier", {"n_jobs": -1}),
                      "random forest of decision trees (bagging, random feature subsets)",
                      "L. Breiman, \"Random forests,\" Machine Learning, vol. 45, pp. 5-32, 2001."),
    "svm": (Estimator("sklearn.svm.SVC", calibrated=True),
            "support vector machine (libsvm), probabilities by Platt scaling",
            "C. Cortes and V. Vapnik, \"Support-vector networks,\" Machine Learning, vol. 20, "
            "pp. 273-297, 1995."),
    "logistic_regression": (Estimator("sklearn.linear_model.LogisticRegression", {"max_iter": 2000}),
                            "logistic regression (L2 penalty; l1_ratio mixes in L1)",
                            "D. R. Cox, \"The regression analysis of binary sequences,\" J. Royal "
                            "Statistical Society B, vol. 20, no. 2, pp. 215-242, 1958."),
    "hist_gradient_boosting": (Estimator("sklearn.ensemble.HistGradientBoostingClassifier"),
                               "histogram-based gradient boosting of decision trees",
                               "G. Ke et al., \"LightGBM: A highly efficient gradient boosting "
                               "decision tree,\" in Proc. NeurIPS, 2017."),
    "knn": (Estimator("sklearn.neighbors.KNeighborsClassifier", {"n_jobs": -1}),
            "k-nearest neighbours",
            "T. Cover and P. Hart, \"Nearest neighbor pattern classification,\" IEEE Trans. "
            "Information Theory, vol. 13, no. 1, pp. 21-27, 1967."),
    "decision_tree": (Estimator("sklearn.tree.DecisionTreeClassifier"),
                      "a single CART decision tree",
                      "L. Breiman, J. Friedman, R. Olshen and C. Stone, Classification and "
                      "Regression Trees. Wadsworth, 1984."),
}
