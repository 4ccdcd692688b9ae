// Loading as a whole: the shipped examples, defaults, canonical forms, every problem of a
// file at once in document order with lines, and hostile input (huge, deep, binary, files
// that are not files).
#include "topology/load.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "base.hpp"

using namespace ndsip::topology;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string all(const LoadResult& r) {
  std::string out;
  for (const Problem& p : r.problems) out += "  " + p.to_string() + "\n";
  return out;
}

std::vector<std::string> pointers(const LoadResult& r) {
  std::vector<std::string> out;
  for (const Problem& p : r.problems) out.push_back(p.pointer);
  return out;
}

// A temporary file, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    path_ = fs::temp_directory_path() / ("ndsip-topology-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++) + ".json");
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { fs::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

}  // namespace

// ---- examples --------------------------------------------------------------------------

TEST(Examples, EveryExampleLoadsWithoutProblems) {
  std::size_t seen = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(NDSIP_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".json") continue;
    ++seen;
    const LoadResult r = load_topology_file(entry.path().string());
    EXPECT_TRUE(r.problems.empty()) << entry.path() << ":\n" << all(r);
    EXPECT_TRUE(r.topology.has_value()) << entry.path();
  }
  EXPECT_GE(seen, 5u);
}

TEST(Examples, TheNamedOnesExist) {
  for (const char* name :
       {"two-domains-segs", "two-domains-no-seg", "capif", "sealdd-ipv6", "demo"}) {
    EXPECT_TRUE(fs::exists(fs::path(NDSIP_SOURCE_DIR) / "examples" / (std::string(name) + ".json")))
        << name;
  }
}

TEST(Examples, DemoHasTheAgreedShape) {
  const LoadResult r = load_topology_file(NDSIP_SOURCE_DIR "/examples/demo.json");
  ASSERT_TRUE(r.topology) << all(r);
  const Topology& t = *r.topology;
  EXPECT_GE(t.nodes.size(), 5u);
  ASSERT_EQ(t.domains.size(), 2u);
  const Node* gms_a = t.node("gms-a");
  ASSERT_NE(gms_a, nullptr);
  EXPECT_EQ(gms_a->role, Role::seal_server);
  EXPECT_NE(std::find(gms_a->services.begin(), gms_a->services.end(), Service::key_management),
            gms_a->services.end());
  EXPECT_NE(std::find(gms_a->services.begin(), gms_a->services.end(), Service::data_delivery),
            gms_a->services.end());
  ASSERT_EQ(t.service_uses.size(), 2u);
  EXPECT_EQ(t.service_uses[0].val_server, "val-1");
  EXPECT_FALSE(t.service_uses[0].via_capif);
  EXPECT_EQ(t.service_uses[1].val_server, "val-2");
  EXPECT_TRUE(t.service_uses[1].via_capif);
  ASSERT_EQ(t.interconnects.size(), 1u);
  EXPECT_EQ(t.interconnects[0].a, "gms-a");
  EXPECT_EQ(t.interconnects[0].b, "gms-b");
  EXPECT_EQ(t.domain("operator-a")->segs, std::vector<std::string>{"seg-a"});
  EXPECT_EQ(t.domain("operator-b")->segs, std::vector<std::string>{"seg-b"});
}

// ---- the model that comes out ----------------------------------------------------------

TEST(Model, DefaultsAreApplied) {
  json doc = test::base();
  doc.erase("service_uses");
  doc.erase("interconnects");
  const LoadResult r = load_topology_text(doc.dump());
  ASSERT_TRUE(r.topology) << all(r);
  const Topology& t = *r.topology;
  EXPECT_EQ(t.version, 1);
  EXPECT_TRUE(t.service_uses.empty());
  EXPECT_TRUE(t.interconnects.empty());
  EXPECT_TRUE(t.domain("operator-b")->segs.empty());  // segs left out
  EXPECT_EQ(t.node("val-1")->protects,
            std::vector<std::string>{"192.0.2.20/32"});  // protects left out
  EXPECT_TRUE(t.node("val-1")->services.empty());
}

TEST(Model, DefaultProtectsCoverEveryAddressInItsFamily) {
  json doc = test::base();
  doc["nodes"][0].erase("protects");
  const LoadResult r = load_topology_text(doc.dump());
  ASSERT_TRUE(r.topology) << all(r);
  EXPECT_EQ(r.topology->node("gms-a")->protects,
            (std::vector<std::string>{"192.0.2.10/32", "2001:db8::10/128"}));
}

TEST(Model, ViaCapifDefaultsToFalseAndIsRead) {
  json doc = test::base();
  LoadResult r = load_topology_text(doc.dump());
  ASSERT_TRUE(r.topology) << all(r);
  EXPECT_FALSE(r.topology->service_uses[0].via_capif);
  doc["service_uses"][0]["via_capif"] = true;
  r = load_topology_text(doc.dump());
  ASSERT_TRUE(r.topology) << all(r);
  EXPECT_TRUE(r.topology->service_uses[0].via_capif);
}

TEST(Model, AddressesAndPrefixesAreCanonical) {
  json doc = test::base();
  doc["nodes"][0]["addresses"][1] = "2001:DB8:0:0::10";
  doc["nodes"][0]["protects"] = {"198.51.100.10/32", "2001:DB8:A:0::/64"};
  const LoadResult r = load_topology_text(doc.dump());
  ASSERT_TRUE(r.topology) << all(r);
  EXPECT_EQ(r.topology->node("gms-a")->addresses,
            (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
  EXPECT_EQ(r.topology->node("gms-a")->protects,
            (std::vector<std::string>{"198.51.100.10/32", "2001:db8:a::/64"}));
}

TEST(Model, FieldsAreCopiedInOrder) {
  const LoadResult r = load_topology_text(test::base().dump());
  ASSERT_TRUE(r.topology) << all(r);
  const Topology& t = *r.topology;
  EXPECT_EQ(t.name, "test");
  ASSERT_EQ(t.nodes.size(), 4u);
  EXPECT_EQ(t.nodes[2].name, "seg-a");
  EXPECT_EQ(t.nodes[2].role, Role::seg);
  EXPECT_EQ(t.nodes[0].services,
            (std::vector<Service>{Service::group_management, Service::key_management,
                                  Service::data_delivery}));
  EXPECT_EQ(t.nodes[0].identity, "gms-a.operator-a.example");
  EXPECT_EQ(t.domains[0].ca_id, "C=DE, O=Operator A, CN=Operator A CA");
  EXPECT_EQ(t.service_uses[0].services,
            (std::vector<Service>{Service::group_management, Service::key_management}));
}

TEST(Model, CommentsAndSchemaAreAllowed) {
  json doc = test::base();
  doc["$schema"] = "../docs/topology.schema.json";
  doc["comment"] = "top";
  doc["domains"][0]["comment"] = "d";
  doc["nodes"][0]["comment"] = "n";
  doc["service_uses"][0]["comment"] = "u";
  doc["interconnects"][0]["comment"] = "i";
  const LoadResult r = load_topology_text(doc.dump());
  EXPECT_TRUE(r.problems.empty()) << all(r);
}

TEST(Model, ByteOrderMarkIsAccepted) {
  const LoadResult r = load_topology_text("\xEF\xBB\xBF" + test::base().dump());
  EXPECT_TRUE(r.problems.empty()) << all(r);
}

TEST(Model, IntegratedSegFunctionOnASealServer) {
  // A node with an integrated SEG function: a seal-server listed in its domain's segs.
  json doc = test::base();
  doc["domains"][1]["segs"] = {"gms-b"};
  const LoadResult r = load_topology_text(doc.dump());
  ASSERT_TRUE(r.topology) << all(r);
  EXPECT_EQ(r.topology->domain("operator-b")->segs, std::vector<std::string>{"gms-b"});
}

// ---- every problem at once, in document order, with lines ---------------------------------

TEST(Problems, AFileWithSeveralMistakesReportsAllOfThem) {
  const std::string text = R"({
  "version": 1,
  "name": "many",
  "domains": [
    {"name": "operator-a", "ca_id": "", "segs": ["seg-x"]}
  ],
  "nodes": [
    {"name": "gms-a", "role": "seal-server", "domain": "operator-a",
     "services": ["group-management", "grup-management"],
     "addresses": ["192.0.2.10"], "identity": "gms-a.example"},
    {"name": "val-1", "role": "val-server", "domain": "nowhere",
     "adresses": ["192.0.2.20"], "identity": "val_1"},
    {"name": "val-2", "role": "val-server", "domain": "operator-a",
     "addresses": ["10.0.0.300", "192.0.2.10"], "identity": "gms-a.example"}
  ],
  "service_uses": [
    {"val_server": "val-1", "seal_server": "gms-a", "services": ["key-management"]},
    {"val_server": "gms-a", "seal_server": "val-2", "services": ["group-management"]}
  ],
  "typo": true
})";
  const LoadResult r = load_topology_text(text);
  EXPECT_FALSE(r.topology);
  const std::vector<std::string> expected = {
      "/domains/0/ca_id",             // empty
      "/domains/0/segs/0",            // unknown node seg-x
      "/nodes/0/services/1",          // unknown service, hint
      "/nodes/1",                     // missing addresses
      "/nodes/1/domain",              // unknown domain
      "/nodes/1/adresses",            // unknown key, hint
      "/nodes/1/identity",            // not an FQDN
      "/nodes/2/addresses/0",         // not an IP address
      "/nodes/2/addresses/1",         // duplicate address
      "/nodes/2/identity",            // duplicate identity
      "/service_uses/1/val_server",   // wrong role
      "/service_uses/1/seal_server",  // wrong role
      "/typo",                        // unknown key
  };
  EXPECT_EQ(pointers(r), expected) << all(r);
  // Lines are those of the values pointed at ("missing" points at the object).
  std::vector<int> lines;
  for (const Problem& p : r.problems) lines.push_back(p.line);
  EXPECT_EQ(lines, (std::vector<int>{5, 5, 9, 11, 11, 12, 12, 14, 14, 14, 18, 18, 20})) << all(r);
  // Unknown key + missing key both appear: the hint makes the fix obvious.
  EXPECT_NE(all(r).find("unknown key \"adresses\" (did you mean \"addresses\"?)"),
            std::string::npos);
}

TEST(Problems, TheDesignExampleLine) {
  json doc = test::base();
  doc["nodes"][1]["addresses"] = {"10.0.0.300"};
  const LoadResult r = load_topology_text(doc.dump());
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].to_string(), "/nodes/1/addresses/0: \"10.0.0.300\" is not an IP address");
}

TEST(Problems, SyntaxErrorCarriesItsLine) {
  const LoadResult r =
      load_topology_text("{\n  \"version\": 1,\n  \"name\": \"x\"\n  \"domains\": []\n}");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].pointer, "");
  EXPECT_EQ(r.problems[0].line, 4);
  EXPECT_EQ(r.problems[0].to_string().rfind("line 4: not valid JSON: ", 0), 0u)
      << r.problems[0].to_string();
  // The column where the parser stopped: the end of the unexpected token "domains".
  EXPECT_NE(r.problems[0].message.find("(column 11)"), std::string::npos) << r.problems[0].message;
}

TEST(Problems, UnterminatedStringAtEndIsASyntaxError) {
  const LoadResult r = load_topology_text("{\"name\": \"abc");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(r.problems[0].line, 1);
}

TEST(Problems, DuplicateKeyIsPlacedAtItsSecondOccurrence) {
  json doc = test::base();
  std::string text = doc.dump(2);
  const std::string first = "\"identity\": \"val-1.operator-a.example\"";
  const auto at = text.find(first);
  ASSERT_NE(at, std::string::npos);
  text.insert(at, "\"identity\": \"val-1.operator-a.example\",\n      ");
  const LoadResult r = load_topology_text(text);
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].pointer, "/nodes/1/identity");
  EXPECT_NE(r.problems[0].message.find("duplicate key \"identity\""), std::string::npos);
  const int line =
      1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n')) +
      1;
  EXPECT_EQ(r.problems[0].line, line);
}

TEST(Problems, EscapedKeysAreDecodedForPointers) {
  json doc = test::base();
  const std::string text = doc.dump().insert(1, "\"t\\u0079po~\": 1, ");
  const LoadResult r = load_topology_text(text);
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].pointer, "/typo~0");
  EXPECT_EQ(r.problems[0].line, 1);
}

TEST(Problems, ToStringFormats) {
  EXPECT_EQ((Problem{"/a/0", "bad", 3}.to_string()), "/a/0: bad");
  EXPECT_EQ((Problem{"", "not valid JSON: x", 7}.to_string()), "line 7: not valid JSON: x");
  EXPECT_EQ((Problem{"", "the file is empty", 0}.to_string()), "the file is empty");
}

TEST(Problems, LongValuesAreShortenedInMessages) {
  json doc = test::base();
  doc["nodes"][1]["addresses"] = {std::string(100000, 'x')};
  const LoadResult r = load_topology_text(doc.dump());
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_LT(r.problems[0].message.size(), 200u);
  EXPECT_NE(r.problems[0].message.find("...\""), std::string::npos);
}

TEST(Problems, AnotherVersionIsNotCheckedFurther) {
  const LoadResult r =
      load_topology_text(R"({"version": 2, "nodes": "whatever", "new_thing": {}})");
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].pointer, "/version");
}

TEST(Problems, NoCascadeWhenAListCannotBeRead) {
  json doc = test::base();
  doc["nodes"] = "all of them";
  const LoadResult r = load_topology_text(doc.dump());
  // Only the nodes problem: the references into it are not reported as unknown.
  ASSERT_EQ(r.problems.size(), 1u) << all(r);
  EXPECT_EQ(r.problems[0].pointer, "/nodes");
}

// ---- hostile input ------------------------------------------------------------------------

TEST(Hostile, MegabyteOfOpenBrackets) {
  const LoadResult r = load_topology_text(std::string(1 << 20, '['));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("nesting deeper than 32"), std::string::npos);
  EXPECT_EQ(r.problems[0].line, 1);
}

TEST(Hostile, MegabyteOfNestedObjects) {
  std::string text;
  while (text.size() < (1u << 20)) text += "{\"a\":\n";
  const LoadResult r = load_topology_text(text);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("nesting deeper"), std::string::npos);
  EXPECT_EQ(r.problems[0].line, 33);
}

TEST(Hostile, BracketsInsideStringsDoNotCount) {
  json doc = test::base();
  doc["comment"] = std::string(1000, '[') + "\\\"[[";
  const LoadResult r = load_topology_text(doc.dump());
  EXPECT_TRUE(r.problems.empty()) << all(r);
}

TEST(Hostile, ExactlyTheDepthLimitParses) {
  std::string text = "{\"version\": 1, \"comment\": \"x\", \"x\": ";
  text += std::string(31, '[') + std::string(31, ']') + "}";  // 1 + 31 = 32 levels
  const LoadResult r = load_topology_text(text);
  for (const Problem& p : r.problems)
    EXPECT_EQ(p.message.find("nesting"), std::string::npos) << p.to_string();
}

TEST(Hostile, RandomBinaryGivesOneClearProblem) {
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(static_cast<std::size_t>(rng() % 4096 + 1), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    const LoadResult r = load_topology_text(bytes);
    ASSERT_EQ(r.problems.size(), 1u);
    EXPECT_FALSE(r.topology);
    EXPECT_EQ(r.problems[0].pointer, "");
  }
}

TEST(Hostile, OversizedText) {
  const LoadResult r = load_topology_text(std::string(max_topology_bytes + 1, ' '));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("more than the limit"), std::string::npos);
}

TEST(Hostile, NotUtf8GivesTheOffendingByteAndLine) {
  const LoadResult r = load_topology_text("{\n\"name\": \"\xed\xa0\x80\"}");  // a UTF-16 surrogate
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("not UTF-8"), std::string::npos);
  EXPECT_NE(r.problems[0].message.find("0xed at offset 11"), std::string::npos)
      << r.problems[0].message;
  EXPECT_EQ(r.problems[0].line, 2);
}

TEST(Hostile, EscapedLoneSurrogateIsASyntaxError) {
  const LoadResult r = load_topology_text(R"({"name": "\ud800"})");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("not valid JSON"), std::string::npos);
}

// ---- files ----------------------------------------------------------------------------------

TEST(Files, MissingFileNamesThePath) {
  const LoadResult r = load_topology_file("/nonexistent/topology.json");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("/nonexistent/topology.json"), std::string::npos);
  EXPECT_NE(r.problems[0].message.find("No such file"), std::string::npos);
}

TEST(Files, DirectoryIsRefused) {
  const LoadResult r = load_topology_file(fs::temp_directory_path().string());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("is a directory"), std::string::npos);
}

TEST(Files, EmptyFile) {
  const TempFile f("");
  const LoadResult r = load_topology_file(f.path());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].message, "the file is empty");
}

TEST(Files, NonUtf8File) {
  const TempFile f("{\"version\": 1, \"name\": \"Op\xe9rateur\"}");
  const LoadResult r = load_topology_file(f.path());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("not UTF-8"), std::string::npos);
}

TEST(Files, BinaryFile) {
  std::string elf =
      "\x7f"
      "ELF\x02\x01\x01";
  elf += std::string(64, '\0');
  const TempFile f(elf);
  const LoadResult r = load_topology_file(f.path());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("binary data"), std::string::npos);
}

TEST(Files, DeeplyNestedMegabyteFile) {
  const TempFile f(std::string(1 << 20, '['));
  const LoadResult r = load_topology_file(f.path());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("nesting deeper"), std::string::npos);
}

TEST(Files, OversizedFileIsRefusedBeforeReading) {
  const TempFile f("");
  fs::resize_file(f.path(), max_topology_bytes + 1);  // sparse: costs no disk
  const LoadResult r = load_topology_file(f.path());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("more than the limit"), std::string::npos);
}

TEST(Files, ValidFile) {
  const TempFile f(test::base().dump(2));
  const LoadResult r = load_topology_file(f.path());
  EXPECT_TRUE(r.problems.empty()) << all(r);
  EXPECT_TRUE(r.topology);
}
