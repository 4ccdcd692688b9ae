// How fast the codec handles what charon sends at scale: list-sas of many IKE_SAs arrives
// as one `list-sa` event per IKE_SA (other clients took minutes for thousands of SAs; this
// shows ours does not).
#include <benchmark/benchmark.h>

#include "vici/commands.hpp"
#include "vici/frame.hpp"
#include "vici/packet.hpp"

using namespace ndsip::vici;

namespace {

Message list_sa_event(int i) {
  Message m;
  Section& ike = m.add_section("seal-s.val-" + std::to_string(i) + ".gms-a");
  ike.set("uniqueid", std::to_string(i)).set("version", "2").set("state", "ESTABLISHED");
  ike.set("local-host", "192.0.2.10").set("local-port", "4500").set("local-id", "gms-a.example");
  ike.set("remote-host", "192.0.2.11").set("remote-port", "4500");
  ike.set("remote-id", "val-" + std::to_string(i) + ".example");
  ike.set("encr-alg", "AES_GCM_16").set("encr-keysize", "256").set("prf-alg", "PRF_HMAC_SHA2_384");
  ike.set("dh-group", "ECP_384").set("established", "100").set("rekey-time", "13000");
  Section& child = ike.add_section("child-sas").add_section("gms-" + std::to_string(i));
  child.set("name", "gms").set("uniqueid", std::to_string(i)).set("state", "INSTALLED");
  child.set("mode", "TUNNEL").set("protocol", "ESP").set("spi-in", "c0ffee01");
  child.set("spi-out", "c0ffee02").set("bytes-in", "123456").set("packets-in", "1000");
  child.set("bytes-out", "654321").set("packets-out", "999").set("install-time", "100");
  child.set_list("local-ts", {"198.51.100.10/32"}).set_list("remote-ts", {"198.51.100.11/32"});
  return m;
}

std::string stream_of(int sas) {
  std::string wire;
  for (int i = 0; i < sas; ++i) wire += encode_packet({PacketType::event, "list-sa", list_sa_event(i)});
  return wire;
}

void BM_DecodeListSas(benchmark::State& state) {
  const std::string wire = stream_of(static_cast<int>(state.range(0)));
  const auto bytes = std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size());
  for (auto _ : state) {
    FrameReader reader;
    Reply reply;
    for (std::size_t pos = 0; pos < bytes.size(); pos += 65536) {
      reader.feed(bytes.subspan(pos, std::min<std::size_t>(65536, bytes.size() - pos)));
      while (auto p = reader.next()) reply.streamed.push_back(std::move(p->message));
    }
    benchmark::DoNotOptimize(parse::list_sas(reply));
  }
  state.SetBytesProcessed(static_cast<long long>(state.iterations() * wire.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DecodeListSas)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_EncodeLoadConnRequest(benchmark::State& state) {
  Section conn;
  conn.set("version", "2").set_list("local_addrs", {"192.0.2.10"});
  conn.set_list("proposals", {"aes256gcm16-prfsha384-ecp384", "aes128gcm16-prfsha256-ecp256"});
  conn.add_section("local").set("auth", "pubkey").set("id", "gms-a.example");
  Section& child = conn.add_section("children").add_section("gms");
  child.set_list("local_ts", {"198.51.100.10/32"}).set_list("esp_proposals", {"aes256gcm16"});
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        encode_packet({PacketType::cmd_request, "load-conn", request::load_conn("c", conn).args}));
  }
}
BENCHMARK(BM_EncodeLoadConnRequest);

}  // namespace

BENCHMARK_MAIN();
