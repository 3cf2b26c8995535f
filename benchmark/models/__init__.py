"""Model registry: ``models`` maps a suite's ``model:`` name to a ModelSpec."""

from benchmark.models._base import Family, ModelSpec
from benchmark.models import sklearn
from benchmark.models.keras import cnn, lenet
from benchmark.registry import Registry

models: Registry[ModelSpec] = Registry("model")

for _spec in [
    ModelSpec("lenet5", "keras", lenet.build, "image",
              "LeNet-5: 2 conv + 2 pooling + 3 dense layers on a 32x32 input",
              "Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, \"Gradient-based learning "
              "applied to document recognition,\" Proc. IEEE, vol. 86, no. 11, 1998."),
    ModelSpec("custom_cnn", "keras", cnn.build, "image",
              "custom CNN (seed 003 Model 1): 2x conv5 + pool + 2x conv3 + pool + dense"),
]:
    models.register(_spec.name, _spec)

for _name, (_estimator, _description, _reference) in sklearn.ESTIMATORS.items():
    models.register(_name, ModelSpec(_name, "sklearn", _estimator, "tabular", _description,
                                     _reference, parameters=_estimator.parameters))

__all__ = ["Family", "ModelSpec", "models"]
