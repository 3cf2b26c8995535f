"""Model registry: ``models`` maps a suite's ``model:`` name to a ModelSpec."""

from benchmark.models._base import Family, ModelSpec
from benchmark.models import sklearn
from benchmark.models.keras import alexnet, applications, cnn, lenet, resnet, vgg
from benchmark.registry import Registry

models: Registry[ModelSpec] = Registry("model")

for _spec in [
    ModelSpec("custom_cnn", "keras", cnn.build, "image",
              "custom CNN (seed 003 Model 1): 2x conv5 + pool + dropout + 2x conv3 + pool + "
              "dropout + dense + dropout", fits=cnn.fits),
    ModelSpec("simple_cnn", "keras", cnn.build_simple, "image",
              "simple CNN (seed 000 Appendix F): 3 conv + 2 pooling + 2 dense layers",
              fits=cnn.fits_simple),
    ModelSpec("lenet5", "keras", lenet.build, "image",
              "LeNet-5: 2 conv + 2 pooling + 3 dense layers on a 32x32 input",
              "Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, \"Gradient-based learning "
              "applied to document recognition,\" Proc. IEEE, vol. 86, no. 11, 1998.",
              fits=lenet.fits),
    ModelSpec("alexnet", "keras", alexnet.build, "image",
              "AlexNet: 5 conv (3-5 by knob) + 3 dense layers with dropout, optional batch "
              "normalisation; 227x227 native input, a 3x3 stem below 128 pixels",
              "A. Krizhevsky, I. Sutskever and G. E. Hinton, \"ImageNet classification with "
              "deep convolutional neural networks,\" in Proc. NeurIPS, 2012.",
              fits=alexnet.fits),
    ModelSpec("vgg16", "keras", vgg.build, "image",
              "VGG-16: 13 conv (3x3) in 5 blocks with max-pooling + 2 dense layers",
              "K. Simonyan and A. Zisserman, \"Very deep convolutional networks for large-scale "
              "image recognition,\" in Proc. ICLR, 2015.",
              fits=vgg.fits),
    ModelSpec("resnet", "keras", resnet.build, "image",
              "ResNet: a stem + stages of residual blocks (defaults: the CIFAR variant, "
              "3x3 stem, 3 stages, depth 6n+2)",
              "K. He, X. Zhang, S. Ren and J. Sun, \"Deep residual learning for image "
              "recognition,\" in Proc. CVPR, 2016.",
              fits=resnet.fits),
    ModelSpec("mobilenet_v2", "keras", applications.build_mobilenet_v2, "image",
              "MobileNetV2 (keras.applications, include_top=False, average pooling) + dropout + "
              "softmax head; alpha scales the width; weights: null or a local weights file",
              "M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen, \"MobileNetV2: "
              "Inverted residuals and linear bottlenecks,\" in Proc. CVPR, 2018.",
              fits=applications.fits),
    ModelSpec("mobilenet_v3_small", "keras", applications.build_mobilenet_v3_small, "image",
              "MobileNetV3-Small (keras.applications, include_top=False, average pooling) + "
              "dropout + softmax head; alpha scales the width; weights: null or a local file",
              "A. Howard, M. Sandler, G. Chu, L.-C. Chen, B. Chen, M. Tan, W. Wang, Y. Zhu, "
              "R. Pang, V. Vasudevan, Q. V. Le and H. Adam, \"Searching for MobileNetV3,\" "
              "in Proc. ICCV, 2019.",
              fits=applications.fits),
    ModelSpec("efficientnet_b0", "keras", applications.build_efficientnet_b0, "image",
              "EfficientNet-B0 (keras.applications, include_top=False, average pooling) + "
              "dropout + softmax head; weights: null or a local weights file",
              "M. Tan and Q. V. Le, \"EfficientNet: Rethinking model scaling for convolutional "
              "neural networks,\" in Proc. ICML, 2019.",
              fits=applications.fits),
    ModelSpec("densenet121", "keras", applications.build_densenet121, "image",
              "DenseNet-121 (keras.applications, include_top=False, average pooling) + "
              "dropout + softmax head; weights: null or a local weights file",
              "G. Huang, Z. Liu, L. van der Maaten and K. Q. Weinberger, \"Densely connected "
              "convolutional networks,\" in Proc. CVPR, 2017.",
              fits=applications.fits),
    ModelSpec("resnet50", "keras", applications.build_resnet50, "image",
              "ResNet-50 (keras.applications, include_top=False, average pooling) + dropout + "
              "softmax head; weights: null or a local weights file",
              "K. He, X. Zhang, S. Ren and J. Sun, \"Deep residual learning for image "
              "recognition,\" in Proc. CVPR, 2016.",
              fits=applications.fits),
]:
    models.register(_spec.name, _spec)

for _name, (_estimator, _description, _reference) in sklearn.ESTIMATORS.items():
    models.register(_name, ModelSpec(_name, "sklearn", _estimator, "tabular", _description,
                                     _reference, parameters=_estimator.parameters))

__all__ = ["Family", "ModelSpec", "models"]
