"""Keras layers: ``from shendu.layers import Dense, Conv2D, ...``."""
from .core import Activation, Dense, Identity, Input, InputLayer, Lambda  # noqa: F401
from .input_spec import InputSpec  # noqa: F401
from .layer import KerasTensor, Layer  # noqa: F401
from .merging import (Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract,  # noqa: F401
                      add, average, concatenate, maximum, minimum, multiply, subtract)
from .regularization import Dropout  # noqa: F401
from .reshaping import (Cropping1D, Cropping2D, Flatten, Permute, RepeatVector,  # noqa: F401
                        Reshape, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D)
from .convolutional import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose,  # noqa: F401
                            Convolution1D, Convolution1DTranspose, Convolution2D,
                            Convolution2DTranspose, DepthwiseConv1D, DepthwiseConv2D,
                            SeparableConv1D, SeparableConv2D, SeparableConvolution1D,
                            SeparableConvolution2D)
from .pooling import (AveragePooling1D, AveragePooling2D, AvgPool1D, AvgPool2D,  # noqa: F401
                      GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAvgPool1D,
                      GlobalAvgPool2D, GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D,
                      GlobalMaxPooling2D, MaxPool1D, MaxPool2D, MaxPooling1D, MaxPooling2D)
from .normalization import BatchNormalization, LayerNormalization  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .preprocessing import (CenterCrop, Normalization, RandomContrast, RandomCrop,  # noqa: F401
                            RandomFlip, RandomRotation, RandomTranslation, RandomZoom, Rescaling,
                            Resizing)
from .preprocessing import (CategoryEncoding, Discretization, IntegerLookup,  # noqa: F401
                            StringLookup, TextVectorization)
from .rnn import (GRU, LSTM, RNN, Bidirectional, GRUCell, LSTMCell, Masking,  # noqa: F401
                  SimpleRNN, SimpleRNNCell, StackedRNNCells, TimeDistributed)
from .activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax  # noqa: F401
from .dot import Dot, dot  # noqa: F401
from .group_normalization import (GroupNormalization, RMSNormalization,  # noqa: F401
                                  UnitNormalization)
from .einsum_dense import EinsumDense  # noqa: F401,E402
from .attention import (AdditiveAttention, Attention, GroupedQueryAttention,  # noqa: F401,E402
                        GroupQueryAttention, MultiHeadAttention)
from .convolutional3d import (Conv3D, Conv3DTranspose, Convolution3D,  # noqa: F401
                              Convolution3DTranspose)
from .pooling3d import (AveragePooling3D, AvgPool3D, GlobalAveragePooling3D,  # noqa: F401
                        GlobalAvgPool3D, GlobalMaxPool3D, GlobalMaxPooling3D, MaxPool3D,
                        MaxPooling3D)
from .noise import (ActivityRegularization, AlphaDropout, GaussianDropout,  # noqa: F401
                    GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D)
from .reshaping3d import Cropping3D, UpSampling3D, ZeroPadding3D  # noqa: F401
from .serialization import deserialize, serialize  # noqa: F401
from .adaptive_pooling import (AdaptiveAveragePooling1D, AdaptiveAveragePooling2D,  # noqa: F401
                               AdaptiveAveragePooling3D, AdaptiveMaxPooling1D,
                               AdaptiveMaxPooling2D, AdaptiveMaxPooling3D)
from .wrapper import Wrapper  # noqa: F401
