// The topology in force as objects keyed by identity, checked incrementally. A new document
// (a pushed file, or one assembled from the journal or a datastore) is split into its
// objects and compared with the ones in force by content; only the objects it touches, the
// objects that refer to them or share a unique value with them, and the objects that had a
// problem before are decoded and checked again. The problems are exactly those a full load
// of the document gives (load_topology_text), pointers, messages and lines alike: a property
// test holds the two paths to it. A document that cannot be split by identity (an entry
// without a name, two with the same one, a list that is not a list) is checked in full; it
// always has problems.
//
// Nor is a document parsed whole when it need not be: its text is cut into elements first,
// and an element that repeats byte for byte one of the document in force (the same list) is
// that object, unchanged, so it is neither parsed nor compared (split.hpp). A pushed file
// with one peer changed costs one element's parse, not 3 MB's. A text that cannot be cut so
// simply (a repeated key, an escaped top-level key, bad syntax, ...) is parsed whole, as before.
//
// A check is a transaction: propose() puts the document in force and says what it changes
// and what is wrong with it; commit() keeps it, abort() restores the state before it. In
// between, the model objects of the proposed document can be read (for the planner).
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "topology/delta.hpp"
#include "topology/load.hpp"
#include "topology/model.hpp"

namespace ndsip::topology {

// A document's objects: key (ObjectId::to_string()) -> the object's JSON, canonical (keys
// sorted, no spaces). What the state store journals.
using ObjectTexts = std::map<std::string, std::string>;

// The document of `objects` (lists in key order), as text; what propose() reads back.
std::string assemble(const ObjectTexts& objects);

struct Proposal {
  std::vector<Problem> problems;  // every one, in document order
  Delta delta;                    // by identity; a comment counts as content
  ObjectTexts put;                // what the journal records: added or changed objects ...
  std::vector<std::string> erase; // ... and removed ones
  ModelChange model;              // when problems is empty
  bool checked_in_full = false;   // the document could not be split (or nothing was in force)
  std::size_t objects_checked = 0;
  // List elements parsed; the others repeated the document in force byte for byte (0 when the
  // document was checked in full for want of identities).
  std::size_t elements_parsed = 0;
};

class TopologyState {
 public:
  TopologyState();
  ~TopologyState();
  TopologyState(const TopologyState&) = delete;
  TopologyState& operator=(const TopologyState&) = delete;

  // Checks `text` as the document in force; see above. One proposal at a time.
  Proposal propose(const std::string& text);
  void commit();
  void abort();
  bool proposing() const;

  // The model of the document in force (or proposed), valid only when it has no problems.
  Topology topology() const;  // a copy, lists in document order
  std::string name() const;
  std::size_t node_count() const;
  // 16 hex digits identifying the content, whatever the order and spacing of the document:
  // the same for a pushed file and for the document assembled from the journal.
  std::string digest() const;
  // The objects in force, as the journal keeps them.
  ObjectTexts objects() const;
  bool empty() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ndsip::topology
