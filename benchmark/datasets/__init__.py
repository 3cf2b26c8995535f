"""Dataset registry: ``sources`` maps a suite's ``source:`` name to a loader."""

from benchmark.datasets import _sklearn
from benchmark.datasets._base import Dataset, DataKind, Source
from benchmark.datasets._split import Part, Splits, split
from benchmark.registry import Registry

sources: Registry[Source] = Registry("dataset source")

for _source in [
    Source("sklearn:digits", "image", _sklearn.load_digits,
           "1,797 handwritten digits, 8x8 grey-scale, 10 classes (ships with scikit-learn)"),
    Source("sklearn:iris", "tabular", _sklearn.load_iris,
           "150 iris flowers, 4 features, 3 classes (ships with scikit-learn)"),
    Source("sklearn:wine", "tabular", _sklearn.load_wine,
           "178 wines, 13 features, 3 classes (ships with scikit-learn)"),
    Source("sklearn:breast_cancer", "tabular", _sklearn.load_breast_cancer,
           "569 tumours, 30 features, 2 classes (ships with scikit-learn)"),
]:
    sources.register(_source.name, _source)

__all__ = ["DataKind", "Dataset", "Part", "Source", "Splits", "sources", "split"]
