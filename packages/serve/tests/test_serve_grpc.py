"""gRPC ingress with a user protobuf service compiled at test time: unary and
server-streaming methods, routing by the `application` metadata key, NOT_FOUND for an
unknown application and INTERNAL for a method that raises."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import grpc
import pytest

import ember
from ember import serve
from ember.serve.config import gRPCOptions

pytest.importorskip("grpc_tools")

NO_CPU = {"num_cpus": 0}
PROTO = """
syntax = "proto3";
package embertest;
message Ask { string name = 1; int32 n = 2; }
message Reply { string text = 1; }
service Greeter {
  rpc Hello (Ask) returns (Reply);
  rpc Count (Ask) returns (stream Reply);
}
"""


@pytest.fixture(scope="module")
def grpc_serve(tmp_path_factory):
    """A cluster whose processes import the compiled proto; Serve with a gRPC proxy."""
    out = tmp_path_factory.mktemp("proto")
    (out / "embertest_greet.proto").write_text(PROTO)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{out}",
                    f"--python_out={out}", f"--grpc_python_out={out}",
                    "embertest_greet.proto"], check=True)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(out), old) if p)
    sys.path.insert(0, str(out))
    ember.init(num_cpus=2)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": 0},
                    grpc_options=gRPCOptions(port=0, grpc_servicer_functions=[
                        "embertest_greet_pb2_grpc.add_GreeterServicer_to_server"]))
        from ember.serve._client import get_controller

        status = ember.get(get_controller().get_status.remote())
        (address,) = status["grpc_addresses"].values()
        pb2 = importlib.import_module("embertest_greet_pb2")
        pb2_grpc = importlib.import_module("embertest_greet_pb2_grpc")
        yield address, pb2, pb2_grpc
    finally:
        try:
            serve.shutdown()
        finally:
            ember.shutdown()
            sys.path.remove(str(out))
            if old is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = old


def _deploy(pb2, name: str, greeting: str) -> None:
    @serve.deployment(ray_actor_options=NO_CPU)
    class Greeter:
        async def Hello(self, ask):
            if ask.name == "boom":
                raise ValueError("no booms here")
            return pb2.Reply(text=f"{greeting} {ask.name}")

        async def Count(self, ask):
            for i in range(ask.n):
                yield pb2.Reply(text=f"{greeting} {i}")

    serve.run(Greeter.bind(), name=name, route_prefix=f"/{name}")


def test_unary_and_streaming_calls_by_application(grpc_serve):
    address, pb2, pb2_grpc = grpc_serve
    _deploy(pb2, "hello", "hello")
    with grpc.insecure_channel(address) as channel:
        stub = pb2_grpc.GreeterStub(channel)
        # One application: the metadata may be left out.
        assert stub.Hello(pb2.Ask(name="ann")).text == "hello ann"
        _deploy(pb2, "hola", "hola")
        app = (("application", "hola"),)
        assert stub.Hello(pb2.Ask(name="bo"), metadata=app).text == "hola bo"
        assert stub.Hello(pb2.Ask(name="cy"),
                          metadata=(("application", "hello"),)).text == "hello cy"
        texts = [r.text for r in stub.Count(pb2.Ask(n=5), metadata=app)]
        assert texts == [f"hola {i}" for i in range(5)]
    serve.delete("hola")
    serve.delete("hello")


def test_unknown_application_and_failing_method(grpc_serve):
    address, pb2, pb2_grpc = grpc_serve
    _deploy(pb2, "one", "one")
    _deploy(pb2, "two", "two")
    with grpc.insecure_channel(address) as channel:
        stub = pb2_grpc.GreeterStub(channel)
        with pytest.raises(grpc.RpcError) as e:
            stub.Hello(pb2.Ask(name="x"), metadata=(("application", "nope"),))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as e:  # two apps and no metadata
            stub.Hello(pb2.Ask(name="x"))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as e:
            stub.Hello(pb2.Ask(name="boom"), metadata=(("application", "one"),))
        assert e.value.code() == grpc.StatusCode.INTERNAL
        assert "no booms here" in e.value.details()
        # The proxy still serves after the errors.
        assert stub.Hello(pb2.Ask(name="z"), metadata=(("application", "two"),)).text == "two z"
    serve.delete("one")
    serve.delete("two")
