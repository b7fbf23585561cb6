// tests/fuzz/fuzz_model.h — the API fuzzer's decoder, shadow model and
// invariant checker, shared by the libFuzzer target (api_fuzzer.cc, clang
// only) and the replay test that runs in the normal suite
// (regression_test.cc, every compiler, architecture and sanitizer).
//
// RunInput() decodes bytes into a program of hak_malloc / hak_calloc /
// hak_realloc / hak_free / hak_memalign / hak_posix_memalign /
// hak_aligned_alloc / hak_usable_size calls (plus bursts, hak_trim and the
// stats calls) on two lanes: lane A runs on the calling thread, lane B on a
// worker thread. Blocks can be handed from one lane to the other through a
// mailbox, so frees and reallocs are cross-thread. The program is cut into
// phases; in a phase the lanes run concurrently or one after the other, and
// between phases the worker thread may exit and be replaced (its slabs are
// abandoned and adopted). Every live block has a shadow record (requested
// size, usable size, alignment, a content pattern seeded per block), and
// every call is checked: non-NULL for sane sizes and NULL + errno for
// impossible ones, alignment (max(requested, min(16, pow2 <= size))),
// usable_size >= requested and stable, hak_owns, contents intact at every
// free / realloc / hand-over (realloc keeps min(old, new) bytes), calloc
// zeroed, no two live blocks overlap (an ordered map of live ranges). At the
// end of each input every block is freed, and the allocator's own
// consistency walk (hk_seg_check) and the large-object counters are checked.
//
// Input format (the comment at the top of fuzz_model.cc; make_corpus.py
// writes inputs by hand): a stream of ops, each an op byte (bit 7: lane, low
// 4 bits: kind) followed by its arguments; truncated input reads as zeros.
#ifndef HAKMEM_TESTS_FUZZ_FUZZ_MODEL_H
#define HAKMEM_TESTS_FUZZ_FUZZ_MODEL_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace hkfuzz {

// What a violated invariant does: abort (the fuzzer records a crash, a
// replayed regression fails) or record and go on (the checker's self-test).
enum class OnViolation { kAbort, kRecord };

struct Options {
  OnViolation on_violation = OnViolation::kAbort;
  // Self-test: flips one byte of the first block retired afterwards, which
  // the content check must report.
  bool inject_corruption = false;
};

void SetOptions(const Options& options);

// Runs one input (see the header comment). Not reentrant.
void RunInput(const uint8_t* data, size_t size);

// Violations recorded (OnViolation::kRecord) since the last reset, and the
// first message.
size_t Violations();
std::string FirstViolation();
void ResetViolations();

// Operations executed by RunInput since the process started (for reports).
uint64_t OpsExecuted();

// The ordered map of live ranges [start, end): Insert fails (and names the
// range hit) when the new range overlaps one already there.
class LiveRanges {
 public:
  bool Insert(uintptr_t start, uintptr_t end, uintptr_t* other_start, uintptr_t* other_end);
  bool Remove(uintptr_t start);
  size_t Size();

 private:
  std::mutex mu_;
  std::map<uintptr_t, uintptr_t> ranges_;
};

}  // namespace hkfuzz

#endif  // HAKMEM_TESTS_FUZZ_FUZZ_MODEL_H
