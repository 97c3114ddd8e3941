"""The one small IR: a Graph of Nodes over typed Tensors."""

from torch_deeploy.ir import dtypes
from torch_deeploy.ir.graph import Graph, Node, Role, Tensor, TensorType
from torch_deeploy.ir.printer import format_graph
from torch_deeploy.ir.verify import verify

__all__ = ["Graph", "Node", "Role", "Tensor", "TensorType", "dtypes", "format_graph", "verify"]
