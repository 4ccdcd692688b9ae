#include "topology/decode.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "topology/address.hpp"
#include "topology/names.hpp"

namespace ndsip::topology::detail {

namespace {

using json = nlohmann::json;
using Keys = std::vector<std::string>;

// "comment" is allowed in every object: JSON has no comments and operators need somewhere to
// say why a node or relation exists. It is checked to be a string and otherwise ignored.
const Keys top_keys = {"$schema", "comment", "version",      "name",
                       "domains", "nodes",   "service_uses", "interconnects"};
const Keys domain_keys = {"comment", "name", "ca_id", "segs"};
const Keys node_keys = {"comment",  "name",      "role",     "domain",
                        "services", "addresses", "identity", "protects"};
const Keys use_keys = {"comment", "val_server", "seal_server", "services", "via_capif"};
const Keys interconnect_keys = {"comment", "between", "services"};

std::vector<std::string> names_of_services() {
  std::vector<std::string> out;
  for (Service s : all_services()) out.emplace_back(to_string(s));
  return out;
}

std::vector<std::string> names_of_roles() {
  std::vector<std::string> out;
  for (Role r : all_roles()) out.emplace_back(to_string(r));
  return out;
}

std::string joined(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

class Decoder {
 public:
  explicit Decoder(Problems& problems) : problems_(problems) {}

  // The document level: version, top-level keys, name, and the lists' own shape. With
  // `elements`, every element of the lists too.
  std::optional<Draft> document(const json& doc, bool elements) {
    if (!doc.is_object()) {
      add("", "the top level must be an object, got " + describe(doc));
      return std::nullopt;
    }
    // The version first: another version is not checked further.
    if (const json* v = member(doc, "version"); !v) {
      add("", "missing key \"version\" (this ndsip reads version 1)");
    } else if (v->is_number_integer() || v->is_number_unsigned()) {
      if (*v != 1) {
        add("/version", "unsupported version " + v->dump() + " (this ndsip reads version 1)");
        return std::nullopt;
      }
    } else {
      add("/version", "must be the number 1, got " + describe(*v));
    }
    keys(doc, "", top_keys);
    if (const json* s = member(doc, "$schema")) string_of(*s, "/$schema");

    Draft draft;
    if (const json* n = required(doc, "", "name")) {
      draft.name = string_of(*n, "/name");
      if (draft.name && !free_text_ok(*draft.name, "/name", 128)) draft.name.reset();
    }
    if (const json* a = required(doc, "", "domains"); a && array_of(*a, "/domains")) {
      for (std::size_t i = 0; elements && i < a->size(); ++i) {
        draft.domains.push_back(domain((*a)[i], pointer("/domains", i)));
        if (!draft.domains.back().name) draft.domains_complete = false;
      }
    } else {
      draft.domains_complete = false;
    }
    if (const json* a = required(doc, "", "nodes"); a && array_of(*a, "/nodes")) {
      if (a->empty()) add("/nodes", "is empty; a topology needs at least one node");
      if (elements) draft.nodes.reserve(a->size());
      for (std::size_t i = 0; elements && i < a->size(); ++i) {
        draft.nodes.push_back(node((*a)[i], pointer("/nodes", i)));
        if (!draft.nodes.back().name) draft.nodes_complete = false;
      }
    } else {
      draft.nodes_complete = false;
    }
    if (const json* a = member(doc, "service_uses"); a && array_of(*a, "/service_uses")) {
      if (elements) draft.uses.reserve(a->size());
      for (std::size_t i = 0; elements && i < a->size(); ++i)
        draft.uses.push_back(use((*a)[i], pointer("/service_uses", i)));
    }
    if (const json* a = member(doc, "interconnects"); a && array_of(*a, "/interconnects")) {
      for (std::size_t i = 0; elements && i < a->size(); ++i) {
        draft.interconnects.push_back(interconnect((*a)[i], pointer("/interconnects", i)));
      }
    }
    return draft;
  }

 private:
  void add(std::string ptr, std::string message) {
    problems_.push_back({std::move(ptr), std::move(message), 0});
  }

  static const json* member(const json& obj, const char* key) {
    const auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }

  const json* required(const json& obj, const std::string& ptr, const char* key) {
    const json* v = member(obj, key);
    if (!v) add(ptr, std::string("missing key \"") + key + "\"");
    return v;
  }

  // Reports every key not in `allowed`: a misspelt optional key must never be ignored
  // silently (a typo in "protects" would otherwise widen a tunnel to the defaults).
  void keys(const json& obj, const std::string& ptr, const Keys& allowed) {
    for (const auto& [key, value] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        add(pointer(ptr, key), "unknown key " + quote(key) + hint(key, allowed));
      }
    }
    if (const json* c = member(obj, "comment")) string_of(*c, pointer(ptr, "comment"));
  }

  bool object_of(const json& v, const std::string& ptr, const Keys& allowed) {
    if (!v.is_object()) {
      add(ptr, "must be an object, got " + describe(v));
      return false;
    }
    keys(v, ptr, allowed);
    return true;
  }

  bool array_of(const json& v, const std::string& ptr) {
    if (v.is_array()) return true;
    add(ptr, "must be an array, got " + describe(v));
    return false;
  }

  std::optional<std::string> string_of(const json& v, const std::string& ptr) {
    if (v.is_string()) return v.get<std::string>();
    add(ptr, "must be a string, got " + describe(v));
    return std::nullopt;
  }

  bool free_text_ok(const std::string& text, const std::string& ptr, std::size_t max) {
    if (text.empty()) {
      add(ptr, "must not be empty");
      return false;
    }
    if (text.size() > max) {
      add(ptr, quote(text) + " is longer than " + std::to_string(max) + " bytes");
      return false;
    }
    for (char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        add(ptr, quote(text) + " contains a control character");
        return false;
      }
    }
    return true;
  }

  // A node or domain name: kept even when malformed (one error here, none at each use).
  std::optional<std::string> name_of(const json& obj, const std::string& ptr, const char* what) {
    const json* v = required(obj, ptr, "name");
    if (!v) return std::nullopt;
    auto name = string_of(*v, pointer(ptr, "name"));
    if (name && !is_valid_name(*name)) {
      add(pointer(ptr, "name"),
          quote(*name) + " is not a valid " + what +
              " name (1 to 32 of a-z, 0-9 and \"-\", starting with a letter)");
    }
    return name;
  }

  // A reference to a node by name: any string; whether it exists is validate's question.
  std::optional<std::string> reference(const json& obj, const std::string& ptr, const char* key) {
    const json* v = required(obj, ptr, key);
    return v ? string_of(*v, pointer(ptr, key)) : std::nullopt;
  }

  std::vector<std::optional<Service>> services(const json& v, const std::string& ptr) {
    std::vector<std::optional<Service>> out;
    if (!array_of(v, ptr)) return out;
    static const std::vector<std::string> known = names_of_services();
    std::unordered_map<int, std::size_t> first;  // service -> index of first listing
    for (std::size_t i = 0; i < v.size(); ++i) {
      const std::string p = pointer(ptr, i);
      std::optional<Service> service;
      if (auto text = string_of(v[i], p)) {
        service = service_from_string(*text);
        if (!service) {
          const std::string h = hint(*text, known);
          add(p, "unknown service " + quote(*text) +
                     (h.empty() ? "; services are " + joined(known) : h));
        } else if (auto [it, fresh] = first.emplace(static_cast<int>(*service), i); !fresh) {
          add(p, quote(*text) + " is listed twice (first at " + pointer(ptr, it->second) + ")");
          service.reset();
        }
      }
      out.push_back(service);
    }
    return out;
  }

 public:
  // One element of a list, at `ptr`: what the loaders and the incremental path share.
  DraftDomain domain(const json& v, const std::string& ptr) {
    DraftDomain d;
    if (!object_of(v, ptr, domain_keys)) return d;
    d.name = name_of(v, ptr, "domain");
    if (const json* c = required(v, ptr, "ca_id")) {
      if (auto text = string_of(*c, pointer(ptr, "ca_id"))) {
        if (const char* why = dn_problem(*text)) {
          add(pointer(ptr, "ca_id"),
              text->find_first_not_of(" \t") == std::string::npos
                  ? std::string(
                        "must not be empty: give the distinguished name of the domain's NDS/IP CA")
                  : quote(*text) + " " + why);
        } else {
          d.ca_id = std::move(text);
        }
      }
    }
    if (const json* s = member(v, "segs"); s && !array_of(*s, pointer(ptr, "segs"))) {
      d.segs_complete = false;
    } else if (s) {
      const std::string sp = pointer(ptr, "segs");
      std::unordered_map<std::string, std::size_t> first;
      for (std::size_t i = 0; i < s->size(); ++i) {
        auto seg = string_of((*s)[i], pointer(sp, i));
        if (!seg) {
          d.segs_complete = false;
        } else {
          if (auto [it, fresh] = first.emplace(*seg, i); !fresh) {
            add(pointer(sp, i),
                quote(*seg) + " is listed twice (first at " + pointer(sp, it->second) + ")");
            seg.reset();
          }
        }
        d.segs.push_back(std::move(seg));
      }
    }
    return d;
  }

  std::optional<std::string> address(const json& v, const std::string& ptr) {
    auto text = string_of(v, ptr);
    if (!text) return std::nullopt;
    const auto ip = parse_ip(*text);
    if (!ip) {
      add(ptr, quote(*text) + " is not an IP address");
      return std::nullopt;
    }
    if (const char* why = unusable_reason(*ip)) {
      add(ptr, quote(*text) + " is " + why + ", not usable as a tunnel end point");
      return std::nullopt;
    }
    return to_text(*ip);
  }

  std::optional<std::string> prefix(const json& v, const std::string& ptr) {
    auto text = string_of(v, ptr);
    if (!text) return std::nullopt;
    const PrefixParse r = parse_prefix(*text);
    switch (r.error) {
      case PrefixError::none:
        if (r.prefix.length == 0) {
          add(ptr, quote(*text) + " would take in all traffic; list the prefixes behind this node");
          return std::nullopt;
        }
        return to_text(r.prefix);
      case PrefixError::not_cidr:
        if (const auto ip = parse_ip(*text)) {
          add(ptr, quote(*text) + " is not a prefix (did you mean " +
                       quote(to_text(host_prefix(*ip))) + "?)");
        } else {
          add(ptr, quote(*text) + " is not a prefix (address/length, e.g. \"198.51.100.0/24\")");
        }
        return std::nullopt;
      case PrefixError::bad_address:
        add(ptr, quote(*text) + " is not a prefix: " + quote(text->substr(0, text->find('/'))) +
                     " is not an IP address");
        return std::nullopt;
      case PrefixError::bad_length:
        add(ptr,
            quote(*text) + " has an invalid prefix length (0 to 32 for IPv4, 0 to 128 for IPv6)");
        return std::nullopt;
      case PrefixError::host_bits:
        add(ptr,
            quote(*text) + " has host bits set (did you mean " + quote(to_text(r.prefix)) + "?)");
        return std::nullopt;
    }
    return std::nullopt;
  }

  DraftNode node(const json& v, const std::string& ptr) {
    DraftNode n;
    if (!object_of(v, ptr, node_keys)) return n;
    n.name = name_of(v, ptr, "node");
    if (auto role = reference(v, ptr, "role")) {
      n.role = role_from_string(*role);
      if (!n.role) {
        static const std::vector<std::string> known = names_of_roles();
        const std::string h = hint(*role, known);
        add(pointer(ptr, "role"),
            "unknown role " + quote(*role) + (h.empty() ? "; roles are " + joined(known) : h));
      }
    }
    n.domain = reference(v, ptr, "domain");
    if (const json* s = member(v, "services")) {
      n.has_services = true;
      n.services = services(*s, pointer(ptr, "services"));
      // Empty only matters for a seal-server; on any other role the key itself is the error
      // (validate.cpp), and saying both would be noise.
      if (s->is_array() && s->empty() && n.role == Role::seal_server) {
        add(pointer(ptr, "services"), "is empty; a seal-server offers at least one service");
      }
    }
    if (const json* a = required(v, ptr, "addresses");
        a && array_of(*a, pointer(ptr, "addresses"))) {
      const std::string ap = pointer(ptr, "addresses");
      if (a->empty()) add(ap, "is empty; a node needs at least one address");
      for (std::size_t i = 0; i < a->size(); ++i)
        n.addresses.push_back(address((*a)[i], pointer(ap, i)));
    }
    if (auto id = reference(v, ptr, "identity")) {
      if (const char* why = fqdn_problem(*id)) {
        add(pointer(ptr, "identity"), quote(*id) + " is not a valid identity: it " + why);
      } else {
        n.identity = std::move(id);
      }
    }
    if (const json* p = member(v, "protects")) {
      n.has_protects = true;
      const std::string pp = pointer(ptr, "protects");
      if (array_of(*p, pp)) {
        if (p->empty())
          add(pp, "is empty; leave \"protects\" out to protect the node's own addresses");
        for (std::size_t i = 0; i < p->size(); ++i)
          n.protects.push_back(prefix((*p)[i], pointer(pp, i)));
      }
    }
    return n;
  }

  DraftUse use(const json& v, const std::string& ptr) {
    DraftUse u;
    if (!object_of(v, ptr, use_keys)) return u;
    u.val_server = reference(v, ptr, "val_server");
    u.seal_server = reference(v, ptr, "seal_server");
    if (const json* s = required(v, ptr, "services")) {
      u.services = services(*s, pointer(ptr, "services"));
      if (s->is_array() && s->empty())
        add(pointer(ptr, "services"), "is empty; list the services used");
    }
    if (const json* c = member(v, "via_capif")) {
      if (c->is_boolean()) {
        u.via_capif = c->get<bool>();
      } else {
        add(pointer(ptr, "via_capif"), "must be true or false, got " + describe(*c));
      }
    }
    return u;
  }

  DraftInterconnect interconnect(const json& v, const std::string& ptr) {
    DraftInterconnect ic;
    if (!object_of(v, ptr, interconnect_keys)) return ic;
    if (const json* b = required(v, ptr, "between"); b && array_of(*b, pointer(ptr, "between"))) {
      const std::string bp = pointer(ptr, "between");
      std::vector<std::optional<std::string>> ends;
      for (std::size_t i = 0; i < b->size(); ++i)
        ends.push_back(string_of((*b)[i], pointer(bp, i)));
      if (b->size() != 2) {
        add(bp, "must name exactly two seal-servers, got " + std::to_string(b->size()));
      } else if (ends[0] && ends[1]) {
        if (*ends[0] == *ends[1]) {
          add(pointer(bp, 1),
              quote(*ends[1]) +
                  " is listed twice; an interconnect joins two different seal-servers");
        } else {
          ic.a = ends[0];
          ic.b = ends[1];
        }
      }
    }
    if (const json* s = required(v, ptr, "services")) {
      ic.services = services(*s, pointer(ptr, "services"));
      if (s->is_array() && s->empty())
        add(pointer(ptr, "services"), "is empty; list the services exchanged");
    }
    return ic;
  }

 private:
  Problems& problems_;
};

}  // namespace

std::optional<Draft> decode(const nlohmann::json& document, Problems& problems) {
  return Decoder(problems).document(document, true);
}

std::optional<Draft> decode_document_level(const nlohmann::json& document, Problems& problems) {
  return Decoder(problems).document(document, false);
}

DraftDomain decode_domain(const nlohmann::json& value, const std::string& ptr, Problems& problems) {
  return Decoder(problems).domain(value, ptr);
}

DraftNode decode_node(const nlohmann::json& value, const std::string& ptr, Problems& problems) {
  return Decoder(problems).node(value, ptr);
}

DraftUse decode_use(const nlohmann::json& value, const std::string& ptr, Problems& problems) {
  return Decoder(problems).use(value, ptr);
}

DraftInterconnect decode_interconnect(const nlohmann::json& value, const std::string& ptr,
                                      Problems& problems) {
  return Decoder(problems).interconnect(value, ptr);
}

}  // namespace ndsip::topology::detail
