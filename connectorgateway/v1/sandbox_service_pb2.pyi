from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ShowSandboxRequest(_message.Message):
    __slots__ = ("connector_key",)
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    def __init__(self, connector_key: _Optional[str] = ...) -> None: ...

class ShowSandboxResponse(_message.Message):
    __slots__ = ("connector_key", "received")
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    received: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    def __init__(self, connector_key: _Optional[str] = ..., received: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ...) -> None: ...
