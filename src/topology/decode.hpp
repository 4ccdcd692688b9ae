// JSON -> Draft: the shape of the file. Types, unknown keys, missing keys, and the syntax of
// every single value (names, roles, services, addresses, prefixes, identities). Rules that
// relate two values (uniqueness, references, roles of referenced nodes) are validate.hpp's.
// Internal to the topology part.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "topology/draft.hpp"
#include "topology/report.hpp"

namespace ndsip::topology::detail {

// nullopt when the document cannot be read as format v1 at all (not an object, or another
// version, whose fields may mean something else); `problems` then says why.
std::optional<Draft> decode(const nlohmann::json& document, Problems& problems);

// The same without the lists' elements (left empty): the document level only, for the
// incremental path, which decodes just the elements that changed.
std::optional<Draft> decode_document_level(const nlohmann::json& document, Problems& problems);

// One element of a list, `ptr` being its pointer ("/nodes/3").
DraftDomain decode_domain(const nlohmann::json& value, const std::string& ptr, Problems& problems);
DraftNode decode_node(const nlohmann::json& value, const std::string& ptr, Problems& problems);
DraftUse decode_use(const nlohmann::json& value, const std::string& ptr, Problems& problems);
DraftInterconnect decode_interconnect(const nlohmann::json& value, const std::string& ptr, Problems& problems);

}  // namespace ndsip::topology::detail
