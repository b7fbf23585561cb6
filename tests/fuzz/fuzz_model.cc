// tests/fuzz/fuzz_model.cc — decoder, shadow model and invariant checker of
// the API fuzzer (see fuzz_model.h).
//
// Encoding. An op is one byte B followed by its arguments; lane = B >> 7
// (0: A, the calling thread; 1: B, the worker thread), kind = B & 15:
//   0 malloc   slot size        8 give     slot   (to the mailbox)
//   1 calloc   slot shape size  9 take     t      (t & 0x80: free every
//   2 realloc  slot mode size                      mailbox block; else take
//   3 free     slot                                one into slot t & 31)
//   4 memalign slot align size 10 sync     flags  (ends a phase, below)
//   5 posix_memalign  (same)   11 burst    count order size
//   6 aligned_alloc   (same)   12 trim
//   7 usable   slot            13 stats
//                              14 malloc (as 0), 15 free (as 3)
// slot: byte & 31 (32 slots per lane). size: three bytes t, v (u16 LE) ->
// DecodeSize (tiny, class edges, mid, large, huge rarely, impossible
// sizes). align: one byte -> DecodeAlign (powers of two 1 B .. 4 MiB, and
// invalid ones). realloc mode & 7: 0-1 the decoded size, 2 grow, 3 shrink,
// 4 +-8 B, 5 to 0 (frees), 6 to 1 B, 7 an impossible size. calloc shape:
// element 1 << (shape % 6), shape & 0x80 swaps the arguments, shape & 0x70
// == 0x70 an overflowing product. burst: 1 + (count & 63) blocks (x8 if
// count & 0x40) of at most 32 KiB, order & 3: free LIFO, FIFO,
// even-then-odd, or hand over through the mailbox; order & 8: calloc.
// sync flags (of the sync that ends the phase; the last phase runs as flags
// 0x01): bit 0 lanes concurrent
// (else one after the other), bit 1 B first, bit 2 verify every live block
// after it, bit 3 hk_seg_check after it, bit 4 replace the worker thread
// (at most kMaxRestarts per input), bit 5 hak_trim after it.
#include "tests/fuzz/fuzz_model.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "hakmem/hakmem.h"
#include "tests/stress/stress_support.h"

namespace hkfuzz {

// ---- live ranges ------------------------------------------------------------

bool LiveRanges::Insert(uintptr_t start, uintptr_t end, uintptr_t* other_start,
                        uintptr_t* other_end) {
  std::lock_guard<std::mutex> lock(mu_);
  auto next = ranges_.lower_bound(start);
  if (next != ranges_.end() && next->first < end) {
    *other_start = next->first;
    *other_end = next->second;
    return false;
  }
  if (next != ranges_.begin()) {
    auto prev = std::prev(next);
    if (prev->second > start) {
      *other_start = prev->first;
      *other_end = prev->second;
      return false;
    }
  }
  ranges_.emplace(start, end);
  return true;
}

bool LiveRanges::Remove(uintptr_t start) {
  std::lock_guard<std::mutex> lock(mu_);
  return ranges_.erase(start) == 1;
}

size_t LiveRanges::Size() {
  std::lock_guard<std::mutex> lock(mu_);
  return ranges_.size();
}

namespace {

constexpr size_t kSlots = 32;
constexpr size_t kMailboxMax = 64;
constexpr size_t kMaxOps = 8192;
// Bytes (requested size + large alignments) live at once, over both lanes;
// a request beyond it is shrunk to a tiny one.
constexpr int64_t kBudget = int64_t{64} << 20;
constexpr size_t kTinyMax = 1024;
constexpr size_t kMidMax = 32768;
constexpr size_t kLargeMax = size_t{1} << 20;  // larger: huge (own mapping)
// Blocks up to this usable size are patterned densely; larger ones get a
// 4 KiB head, a 64 B tail and 8 bytes per 16 KiB (256 KiB above 1 MiB):
// touching every page of every large block would make page faults most of
// the fuzzer's time.
constexpr size_t kDenseMax = 64 * 1024;
constexpr int kMaxRestarts = 4;
constexpr uint8_t kFinalPhaseFlags = 0x01;

const size_t kClassSizes[] = {8,    16,   32,   64,   128,  256,  512,   1024,  1280,
                              1536, 1792, 2048, 2560, 3072, 3584, 4096,  5120,  6144,
                              7168, 8192, 9344, 10880, 13056, 16384, 21760, 32768};
constexpr size_t kNumClasses = sizeof(kClassSizes) / sizeof(kClassSizes[0]);

enum Kind : uint8_t {
  kMalloc = 0,
  kCalloc,
  kRealloc,
  kFree,
  kMemalign,
  kPosixMemalign,
  kAlignedAlloc,
  kUsable,
  kGive,
  kTake,
  kSync,
  kBurst,
  kTrim,
  kStats,
  kMalloc2,
  kFree2,
  kNumKinds
};
const char* const kKindNames[kNumKinds] = {
    "malloc", "calloc", "realloc", "free", "memalign", "posix_memalign", "aligned_alloc", "usable",
    "give",   "take",   "sync",    "burst", "trim",   "stats",          "malloc",        "free"};

struct Op {
  uint8_t kind = 0;
  uint8_t lane = 0;
  uint8_t slot = 0;  // & 31, except take and burst (raw byte)
  uint8_t arg = 0;   // calloc shape, realloc mode, burst count, sync flags
  size_t size = 0;
  size_t align = 0;
  uint32_t index = 0;
};

struct Block {
  uint8_t* p = nullptr;
  size_t size = 0;    // requested
  size_t usable = 0;  // hak_usable_size at allocation
  uint64_t seed = 0;  // content pattern
  size_t align = 1;   // alignment asked for (checked at allocation)
  int64_t cost = 0;   // budget held
};

struct Lane {
  char name = 'A';
  int id = 0;
  Block slot[kSlots];
  uint64_t next_seed = 0;
  const Op* op = nullptr;  // being executed (for reports)
  int phase = 0;
  bool alone = false;  // the other lane is idle during this phase
};

Options g_options;
std::mutex g_violation_mu;
size_t g_violations = 0;
std::string g_first_violation;
std::atomic<uint64_t> g_ops{0};
std::atomic<int64_t> g_live_bytes{0};
std::atomic<bool> g_corrupt_pending{false};
LiveRanges g_ranges;
std::mutex g_mail_mu;
std::deque<Block> g_mailbox;

// ---- reporting --------------------------------------------------------------

__attribute__((format(printf, 2, 3))) void Violation(const Lane& l, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  char where[256];
  if (l.op != nullptr) {
    const Op& op = *l.op;
    snprintf(where, sizeof(where), "phase %d, op #%u (lane %c: %s slot %u arg %u size %zu align %zu)",
             l.phase, op.index, l.name, kKindNames[op.kind], op.slot, op.arg, op.size, op.align);
  } else {
    snprintf(where, sizeof(where), "phase %d, lane %c, end-of-input checks", l.phase, l.name);
  }
  fprintf(stderr, "hakmem-fuzz: VIOLATION at %s: %s\n", where, msg);
  fflush(stderr);
  if (g_options.on_violation == OnViolation::kAbort) abort();
  std::lock_guard<std::mutex> lock(g_violation_mu);
  if (g_violations++ == 0) g_first_violation = std::string(where) + ": " + msg;
}

// ---- content pattern --------------------------------------------------------
//
// Byte i of a block with seed s is Ref()[s % kRefSlack + i % kRefPeriod]:
// a pseudo-random reference stream (xorshift) at a per-block offset, so
// filling and checking are memcpy and memcmp (the checks cost little even
// under ASan and libFuzzer's coverage), and a block cannot pass for another
// one unless both seeds pick the same offset (1 in 4093).

constexpr size_t kRefPeriod = kDenseMax;
constexpr size_t kRefSlack = 4093;

const uint8_t* Ref() {
  static const uint8_t* const ref = [] {
    static uint8_t buf[kRefPeriod + kRefSlack];
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint8_t& b : buf) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      b = static_cast<uint8_t>(x >> 32);
    }
    return buf;
  }();
  return ref;
}

const uint8_t* Zeros() {
  static const uint8_t zeros[kRefPeriod] = {};
  return zeros;
}

// fn(lo, hi) for every patterned range of a block of n usable bytes; no
// range crosses a multiple of kRefPeriod.
template <class F>
void ForCovered(size_t n, F fn) {
  if (n <= kDenseMax) {
    if (n != 0) fn(size_t{0}, n);
    return;
  }
  const size_t stride = n <= kLargeMax ? 16384 : 262144;
  fn(size_t{0}, size_t{4096});
  for (size_t off = stride; off + 8 <= n - 64; off += stride) fn(off, off + 8);
  const size_t tail = n - 64, cut = (n / kRefPeriod) * kRefPeriod;
  if (tail < cut && cut < n) {
    fn(tail, cut);
    fn(cut, n);
  } else {
    fn(tail, n);
  }
}

// Expected bytes of [lo, hi) (within one period) for a block with `seed`.
inline const uint8_t* Expected(uint64_t seed, size_t lo) {
  return Ref() + seed % kRefSlack + lo % kRefPeriod;
}

void Fill(uint8_t* p, size_t n, uint64_t seed) {
  ForCovered(n, [&](size_t lo, size_t hi) { memcpy(p + lo, Expected(seed, lo), hi - lo); });
}

struct Mismatch {
  size_t off = 0;
  uint8_t got = 0, want = 0;
};

// Bytes [lo, hi) hold the pattern (want_zero: hold zero); else the first
// differing byte.
bool CheckRange(const uint8_t* p, size_t lo, size_t hi, uint64_t seed, bool want_zero,
                Mismatch* m) {
  const uint8_t* want = want_zero ? Zeros() : Expected(seed, lo);
  if (memcmp(p + lo, want, hi - lo) == 0) return true;
  size_t i = 0;
  while (p[lo + i] == want[i]) i++;
  *m = {lo + i, p[lo + i], want[i]};
  return false;
}

// The pattern a block of `cover` usable bytes was filled with is intact in
// [0, limit) (limit <= cover).
bool CheckPattern(const uint8_t* p, size_t cover, size_t limit, uint64_t seed, bool want_zero,
                  Mismatch* m) {
  bool ok = true;
  ForCovered(cover, [&](size_t lo, size_t hi) {
    if (!ok || lo >= limit) return;
    ok = CheckRange(p, lo, std::min(hi, limit), seed, want_zero, m);
  });
  return ok;
}

// ---- sizes, alignments, budget ------------------------------------------------

size_t MinAlign(size_t size) {
  if (size == 0) return 1;
  return std::min<size_t>(16, size_t{1} << (63 - __builtin_clzll(size)));
}
bool Pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }
size_t NextPow2(size_t x) { return x <= 1 ? 1 : size_t{1} << (64 - __builtin_clzll(x - 1)); }
// Sizes no allocator can serve (the decoder makes only these and sane ones).
bool Impossible(size_t size) { return size >= (size_t{1} << 60); }

int64_t CostOf(size_t size, size_t align) {
  return static_cast<int64_t>(size + (align > 4096 ? align : 0));
}

// Reserves the budget for a request, shrinking it (to a tiny size, alignment
// at most 4 KiB) when the budget is exhausted. Returns the cost held.
int64_t Budget(size_t* size, size_t* align) {
  int64_t cost = CostOf(*size, *align);
  if (g_live_bytes.fetch_add(cost) + cost <= kBudget) return cost;
  g_live_bytes.fetch_sub(cost);
  *size %= kTinyMax + 1;
  *align = std::min<size_t>(*align, 4096);
  cost = CostOf(*size, *align);
  g_live_bytes.fetch_add(cost);
  return cost;
}

struct Reader {
  const uint8_t* p;
  size_t n;
  size_t i = 0;
  uint8_t U8() { return i < n ? p[i++] : 0; }
  uint16_t U16() {
    uint16_t lo = U8();
    return static_cast<uint16_t>(lo | (U8() << 8));
  }
  bool Done() const { return i >= n; }
};

size_t DecodeSize(Reader& r) {
  const uint8_t t = r.U8();
  const uint16_t v = r.U16();
  const unsigned hi = t >> 4;
  switch (t & 15) {
    case 0:
    case 1:
    case 2:
    case 3:
      return v % (kTinyMax + 1);
    case 4:
      return v % 129;
    case 5:
    case 6:  // a class size, -1, +0 or +1
      return kClassSizes[v % kNumClasses] + hi % 3 - 1;
    case 7:
    case 8:
    case 9:
    case 10:
      return kTinyMax + 1 + v % (kMidMax - kTinyMax);
    case 11:
      return kMidMax + 1 + (static_cast<size_t>(v) * 16 + hi) % (kLargeMax - kMidMax);
    case 12: {  // tier edges and page multiples around them
      static const size_t kEdges[] = {kMidMax - 1,   kMidMax,       kMidMax + 1,  65535,
                                      65536,         65537,         131072,       262145,
                                      524288,        kLargeMax - 4096, kLargeMax - 1, kLargeMax,
                                      kLargeMax + 1, kLargeMax + 4096, 2 * kLargeMax, 2 * kLargeMax + 1};
      return kEdges[v % (sizeof(kEdges) / sizeof(kEdges[0]))];
    }
    case 13:  // whole large pages, +-1
      return 4096 * (9 + v % 248) + hi % 3 - 1;
    case 14:  // huge (> 1 MiB, own mapping) one time in four, else small
      return hi >= 12 ? kLargeMax + 1 + static_cast<size_t>(v) * 32 : v % 256;
    default:
      switch (hi & 7) {
        case 0: return 0;
        case 1: return SIZE_MAX;
        case 2: return SIZE_MAX / 2 + 1;
        case 3: return SIZE_MAX - 4095;
        case 4: return size_t{1} << 62;
        default: return 1 + v % 16;
      }
  }
}

size_t DecodeAlign(uint8_t a) {
  static const size_t kOdd[] = {0,  3,   24,  48,  1000, 4097, 65537, 12, 5,  96, 6,  40,
                                2,  1,   100, 8,   16,   4,    24,    72, 192, 320, 640, 36};
  if (a >= 0xE8) return kOdd[a - 0xE8];
  return size_t{1} << (a % 23);  // 1 B .. 4 MiB
}

std::vector<Op> Decode(const uint8_t* data, size_t size) {
  Reader r{data, size};
  std::vector<Op> ops;
  while (!r.Done() && ops.size() < kMaxOps) {
    const uint8_t b = r.U8();
    Op op;
    op.lane = b >> 7;
    op.kind = b & 15;
    op.index = static_cast<uint32_t>(ops.size());
    switch (op.kind) {
      case kMalloc2: op.kind = kMalloc; [[fallthrough]];
      case kMalloc:
        op.slot = r.U8() & 31;
        op.size = DecodeSize(r);
        break;
      case kCalloc:
      case kRealloc:
        op.slot = r.U8() & 31;
        op.arg = r.U8();
        op.size = DecodeSize(r);
        break;
      case kFree2: op.kind = kFree; [[fallthrough]];
      case kFree:
      case kUsable:
      case kGive:
        op.slot = r.U8() & 31;
        break;
      case kTake:
        op.slot = r.U8();
        break;
      case kMemalign:
      case kPosixMemalign:
      case kAlignedAlloc:
        op.slot = r.U8() & 31;
        op.align = DecodeAlign(r.U8());
        op.size = DecodeSize(r);
        break;
      case kSync:
        op.arg = r.U8();
        break;
      case kBurst:
        op.arg = r.U8();
        op.slot = r.U8();
        op.size = DecodeSize(r);
        break;
      default:  // trim, stats
        break;
    }
    ops.push_back(op);
  }
  return ops;
}

// ---- block life cycle -----------------------------------------------------------

uint64_t NextSeed(Lane& l) {
  return (static_cast<uint64_t>(l.id + 1) << 56) ^ (++l.next_seed * 0xD1B54A32D192ED03ull);
}

// A block fresh from `fn` for `size` bytes with alignment `align` asked for:
// checks it, registers its range and fills it. False (reported) if p is NULL.
bool Admit(Lane& l, const char* fn, void* vp, size_t size, size_t align, bool zeroed,
           int64_t cost, Block* out) {
  uint8_t* p = static_cast<uint8_t*>(vp);
  *out = Block{};
  if (p == nullptr) {
    Violation(l, "%s returned NULL for %zu B (alignment %zu), errno %d", fn, size, align, errno);
    g_live_bytes.fetch_sub(cost);
    return false;
  }
  const size_t want = std::max(align, MinAlign(size));
  if (reinterpret_cast<uintptr_t>(p) % want != 0) {
    Violation(l, "%s: %p for %zu B is not aligned to %zu", fn, static_cast<void*>(p), size, want);
  }
  const size_t usable = hak_usable_size(p);
  if (usable < size) {
    Violation(l, "%s: usable size %zu of %p < requested %zu", fn, usable, static_cast<void*>(p),
              size);
  }
  if (hak_owns(p) != 1) Violation(l, "%s: hak_owns(%p) != 1 for a live block", fn, static_cast<void*>(p));
  if (hak_owns(p + 1) != 0) {
    Violation(l, "%s: hak_owns(%p + 1) != 0: an interior pointer taken for a block", fn,
              static_cast<void*>(p));
  }
  Mismatch m;
  if (zeroed && !CheckPattern(p, size, size, 0, true, &m)) {
    Violation(l, "%s: %p (%zu B) byte %zu is 0x%02x, not zero", fn, static_cast<void*>(p), size, m.off,
              m.got);
  }
  uintptr_t os = 0, oe = 0;
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (!g_ranges.Insert(a, a + std::max<size_t>(usable, 1), &os, &oe)) {
    Violation(l, "%s: block [%p, +%zu) overlaps the live block [0x%zx, 0x%zx)", fn,
              static_cast<void*>(p), usable, static_cast<size_t>(os), static_cast<size_t>(oe));
  }
  *out = Block{p, size, usable, NextSeed(l), align, cost};
  Fill(p, usable, out->seed);
  return true;
}

// A live block still matches its record: hak_owns, the same usable size,
// contents intact.
void Verify(Lane& l, const Block& b, const char* when) {
  if (hak_owns(b.p) != 1) {
    Violation(l, "%s: hak_owns(%p) != 1 for a live block (%zu B)", when, static_cast<void*>(b.p),
              b.size);
  }
  const size_t usable = hak_usable_size(b.p);
  if (usable != b.usable) {
    Violation(l, "%s: usable size of %p changed from %zu to %zu", when, static_cast<void*>(b.p),
              b.usable, usable);
  }
  Mismatch m;
  if (!CheckPattern(b.p, b.usable, b.usable, b.seed, false, &m)) {
    Violation(l, "%s: contents of %p (%zu B requested, %zu usable) corrupted: byte %zu is 0x%02x, expected 0x%02x",
              when, static_cast<void*>(b.p), b.size, b.usable, m.off, m.got, m.want);
  }
}

void Unregister(Lane& l, const Block& b) {
  if (!g_ranges.Remove(reinterpret_cast<uintptr_t>(b.p))) {
    Violation(l, "model: %p is not in the live ranges", static_cast<void*>(b.p));
  }
}

void MaybeCorrupt(Block& b) {
  if (g_options.inject_corruption && g_corrupt_pending.exchange(false)) b.p[0] ^= 0x5a;
}

// Verifies and frees a live block (the range leaves the map before the free:
// another thread may get the memory back at once).
void Retire(Lane& l, Block& b) {
  MaybeCorrupt(b);
  Verify(l, b, "free");
  Unregister(l, b);
  errno = 4321;
  hak_free(b.p);
  if (errno != 4321) Violation(l, "hak_free(%p) changed errno to %d", static_cast<void*>(b.p), errno);
  // A freed large block (page span or own mapping) is no longer HAKMEM's
  // (exact for large blocks; small ones are best effort). Only while the
  // other lane is idle: it could get the same address back at once.
  if (l.alone && b.usable > kMidMax && hak_owns(b.p) != 0) {
    Violation(l, "hak_owns(%p) != 0 after the free of a %zu B large block", static_cast<void*>(b.p),
              b.size);
  }
  g_live_bytes.fetch_sub(b.cost);
  b = Block{};
}

void ExpectNull(Lane& l, const char* fn, void* p, int err, int want_err) {
  if (p != nullptr) {
    Violation(l, "%s returned %p for an impossible request (expected NULL)", fn, p);
    return;  // not freed: its size is unknown to the model
  }
  if (err != want_err) Violation(l, "%s: errno %d, expected %d", fn, err, want_err);
}

// ---- ops ----------------------------------------------------------------------------

void DoMalloc(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p != nullptr) Retire(l, s);
  size_t size = op.size, align = 1;
  if (Impossible(size)) {
    errno = 0;
    void* p = hak_malloc(size);
    ExpectNull(l, "hak_malloc", p, errno, ENOMEM);
    return;
  }
  int64_t cost = Budget(&size, &align);
  Admit(l, "hak_malloc", hak_malloc(size), size, 1, false, cost, &s);
}

void DoCalloc(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p != nullptr) Retire(l, s);
  if ((op.arg & 0x70) == 0x70) {
    static const size_t kPairs[][2] = {{SIZE_MAX / 2 + 1, 3},
                                       {3, SIZE_MAX / 2 + 1},
                                       {SIZE_MAX, 2},
                                       {(size_t{1} << 32) + 1, size_t{1} << 32}};
    const size_t* pair = kPairs[op.arg & 3];
    errno = 0;
    void* p = hak_calloc(pair[0], pair[1]);
    ExpectNull(l, "hak_calloc (overflowing product)", p, errno, ENOMEM);
    return;
  }
  if (Impossible(op.size)) {
    errno = 0;
    void* p = hak_calloc(1, op.size);
    ExpectNull(l, "hak_calloc", p, errno, ENOMEM);
    return;
  }
  size_t size = op.size, align = 1;
  int64_t cost = Budget(&size, &align);
  const size_t elem = size_t{1} << (op.arg % 6);
  const size_t n = size / elem;
  void* p = (op.arg & 0x80) ? hak_calloc(elem, n) : hak_calloc(n, elem);
  Admit(l, "hak_calloc", p, n * elem, 1, true, cost, &s);
}

void DoRealloc(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p == nullptr) {  // realloc(NULL, n) is malloc(n)
    size_t size = op.size, align = 1;
    if (Impossible(size)) {
      errno = 0;
      void* p = hak_realloc(nullptr, size);
      ExpectNull(l, "hak_realloc(NULL)", p, errno, ENOMEM);
      return;
    }
    int64_t cost = Budget(&size, &align);
    Admit(l, "hak_realloc(NULL)", hak_realloc(nullptr, size), size, 1, false, cost, &s);
    return;
  }
  size_t n;
  switch (op.arg & 7) {
    case 2: n = s.size * 2 + op.size % 64; break;
    case 3: n = s.size / 2; break;
    case 4: {
      const size_t d = op.size % 17;
      n = d >= 8 ? s.size + (d - 8) : (s.size > 8 - d ? s.size - (8 - d) : 1);
      break;
    }
    case 5: n = 0; break;
    case 6: n = 1; break;
    case 7: n = SIZE_MAX - op.size % 4096; break;
    default: n = op.size; break;
  }
  Verify(l, s, "realloc");
  if (Impossible(n)) {
    errno = 0;
    void* q = hak_realloc(s.p, n);
    ExpectNull(l, "hak_realloc", q, errno, ENOMEM);
    Verify(l, s, "after a failed realloc");  // left untouched
    return;
  }
  if (n == 0) {  // glibc semantics: frees, returns NULL
    Unregister(l, s);
    void* q = hak_realloc(s.p, 0);
    if (q != nullptr) Violation(l, "hak_realloc(%p, 0) returned %p, expected NULL", static_cast<void*>(s.p), q);
    g_live_bytes.fetch_sub(s.cost);
    s = Block{};
    return;
  }
  size_t align = 1;
  int64_t cost = Budget(&n, &align);
  if (n == 0) n = 1;  // shrunk by the budget: still a realloc, not a free
  const Block old = s;
  Unregister(l, old);
  void* q = hak_realloc(old.p, n);
  if (q == nullptr) {
    Violation(l, "hak_realloc(%p, %zu) returned NULL, errno %d", static_cast<void*>(old.p), n, errno);
    uintptr_t os, oe;
    g_ranges.Insert(reinterpret_cast<uintptr_t>(old.p),
                    reinterpret_cast<uintptr_t>(old.p) + std::max<size_t>(old.usable, 1), &os, &oe);
    g_live_bytes.fetch_sub(cost);
    return;
  }
  Mismatch m;
  const size_t kept = std::min(old.size, n);
  if (!CheckPattern(static_cast<uint8_t*>(q), old.usable, kept, old.seed, false, &m)) {
    Violation(l, "hak_realloc(%p, %zu) -> %p: kept contents corrupted: byte %zu of %zu is 0x%02x, expected 0x%02x",
              static_cast<void*>(old.p), n, q, m.off, kept, m.got, m.want);
  }
  g_live_bytes.fetch_sub(old.cost);
  Admit(l, "hak_realloc", q, n, 1, false, cost, &s);
}

void DoFree(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p != nullptr) {
    Retire(l, s);
    return;
  }
  errno = 4321;
  hak_free(nullptr);
  if (errno != 4321) Violation(l, "hak_free(NULL) changed errno to %d", errno);
}

void DoAligned(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p != nullptr) Retire(l, s);
  size_t a = op.align, size = op.size;
  switch (op.kind) {
    case kMemalign: {  // glibc: a non-power of two is rounded up
      if (Impossible(size)) {
        errno = 0;
        void* p = hak_memalign(a, size);
        ExpectNull(l, "hak_memalign", p, errno, ENOMEM);
        return;
      }
      size_t eff = a <= 1 ? 1 : NextPow2(a);
      int64_t cost = Budget(&size, &eff);
      if (eff < NextPow2(a)) a = eff;  // shrunk by the budget
      Admit(l, "hak_memalign", hak_memalign(a, size), size, eff, false, cost, &s);
      return;
    }
    case kPosixMemalign: {
      void* const kSentinel = reinterpret_cast<void*>(uintptr_t{0x5a5a5a5a50});
      void* out = kSentinel;
      errno = 4321;
      if (!Pow2(a) || a % sizeof(void*) != 0 || Impossible(size)) {
        const int want = Impossible(size) && Pow2(a) && a % sizeof(void*) == 0 ? ENOMEM : EINVAL;
        const int rc = hak_posix_memalign(&out, a, size);
        if (rc != want) Violation(l, "hak_posix_memalign(%zu, %zu) returned %d, expected %d", a, size, rc, want);
        if (out != kSentinel) Violation(l, "hak_posix_memalign wrote *out on failure");
        if (errno != 4321) Violation(l, "hak_posix_memalign changed errno to %d", errno);
        return;
      }
      int64_t cost = Budget(&size, &a);
      const int rc = hak_posix_memalign(&out, a, size);
      if (errno != 4321) Violation(l, "hak_posix_memalign changed errno to %d", errno);
      if (rc != 0) {
        Violation(l, "hak_posix_memalign(%zu, %zu) returned %d", a, size, rc);
        g_live_bytes.fetch_sub(cost);
        return;
      }
      Admit(l, "hak_posix_memalign", out, size, a, false, cost, &s);
      return;
    }
    default: {  // aligned_alloc
      if (!Pow2(a) || Impossible(size)) {
        errno = 0;
        void* p = hak_aligned_alloc(a, size);
        ExpectNull(l, "hak_aligned_alloc", p, errno, Pow2(a) ? ENOMEM : EINVAL);
        return;
      }
      int64_t cost = Budget(&size, &a);
      Admit(l, "hak_aligned_alloc", hak_aligned_alloc(a, size), size, a, false, cost, &s);
      return;
    }
  }
}

void DoUsable(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p == nullptr) {
    if (hak_usable_size(nullptr) != 0) Violation(l, "hak_usable_size(NULL) != 0");
    if (hak_owns(nullptr) != 0) Violation(l, "hak_owns(NULL) != 0");
    return;
  }
  Verify(l, s, "usable_size");
}

void DoGive(Lane& l, const Op& op) {
  Block& s = l.slot[op.slot];
  if (s.p == nullptr) return;
  std::lock_guard<std::mutex> lock(g_mail_mu);
  if (g_mailbox.size() >= kMailboxMax) return;
  g_mailbox.push_back(s);
  s = Block{};
}

void DoTake(Lane& l, const Op& op) {
  if (op.slot & 0x80) {  // free everything handed over, from this thread
    std::deque<Block> all;
    {
      std::lock_guard<std::mutex> lock(g_mail_mu);
      all.swap(g_mailbox);
    }
    for (Block& b : all) Retire(l, b);
    return;
  }
  Block b;
  {
    std::lock_guard<std::mutex> lock(g_mail_mu);
    if (g_mailbox.empty()) return;
    b = g_mailbox.front();
    g_mailbox.pop_front();
  }
  Block& s = l.slot[op.slot & 31];
  if (s.p != nullptr) Retire(l, s);
  Verify(l, b, "hand-over");
  s = b;
}

void DoBurst(Lane& l, const Op& op) {
  size_t count = 1 + (op.arg & 63);
  if (op.arg & 0x40) count *= 8;
  // Small blocks only: bursts are about slabs filling up and emptying
  // (large blocks would make it a page-fault benchmark).
  size_t size = op.size > kMidMax ? op.size % (kMidMax + 1) : op.size;
  const int64_t total = CostOf(size, 1) * static_cast<int64_t>(count);
  if (total > kBudget / 4 || g_live_bytes.load() + total > kBudget) size %= kTinyMax + 1;
  g_live_bytes.fetch_add(CostOf(size, 1) * static_cast<int64_t>(count));
  const int64_t cost = CostOf(size, 1);
  const bool zeroed = (op.slot & 8) != 0;
  std::vector<Block> v(count);
  for (Block& b : v) {
    void* p = zeroed ? hak_calloc(1, size) : hak_malloc(size);
    Admit(l, zeroed ? "hak_calloc (burst)" : "hak_malloc (burst)", p, size, 1, zeroed, cost, &b);
  }
  switch (op.slot & 3) {
    case 0:
      for (size_t i = count; i-- > 0;) {
        if (v[i].p != nullptr) Retire(l, v[i]);
      }
      break;
    case 1:
      for (Block& b : v) {
        if (b.p != nullptr) Retire(l, b);
      }
      break;
    case 2:
      for (size_t start = 0; start < 2; start++) {
        for (size_t i = start; i < count; i += 2) {
          if (v[i].p != nullptr) Retire(l, v[i]);
        }
      }
      break;
    default: {  // the other lane frees them (take with bit 7, or the end)
      {
        std::lock_guard<std::mutex> lock(g_mail_mu);
        for (Block& b : v) {
          if (b.p == nullptr || g_mailbox.size() >= kMailboxMax) continue;
          g_mailbox.push_back(b);
          b = Block{};
        }
      }
      for (size_t i = count; i-- > 0;) {
        if (v[i].p != nullptr) Retire(l, v[i]);
      }
      break;
    }
  }
}

void DoStats(Lane& l) {
  hak_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  hak_stats_get(&st);
  if (st.size != sizeof(st)) Violation(l, "hak_stats_get: size %u, expected %zu", st.size, sizeof(st));
  hak_front_stats_t fs;
  memset(&fs, 0, sizeof(fs));
  fs.size = sizeof(fs);
  hak_front_stats_get(&fs);
  if (fs.size != sizeof(fs)) Violation(l, "hak_front_stats_get: size %u, expected %zu", fs.size, sizeof(fs));
}

void Execute(Lane& l, const Op& op) {
  l.op = &op;
  g_ops.fetch_add(1, std::memory_order_relaxed);
  switch (op.kind) {
    case kMalloc: DoMalloc(l, op); break;
    case kCalloc: DoCalloc(l, op); break;
    case kRealloc: DoRealloc(l, op); break;
    case kFree: DoFree(l, op); break;
    case kMemalign:
    case kPosixMemalign:
    case kAlignedAlloc: DoAligned(l, op); break;
    case kUsable: DoUsable(l, op); break;
    case kGive: DoGive(l, op); break;
    case kTake: DoTake(l, op); break;
    case kBurst: DoBurst(l, op); break;
    case kTrim: {
      const int r = hak_trim(0);
      if (r != 0 && r != 1) Violation(l, "hak_trim returned %d", r);
      break;
    }
    case kStats: DoStats(l); break;
    default: break;
  }
  l.op = nullptr;
}

// ---- lanes and the worker thread ------------------------------------------------------

// Lane B's thread. Never destroyed (a joinable std::thread at exit would
// terminate the process); replaced by Restart().
class Worker {
 public:
  void Run(std::function<void()> job) {
    if (!thread_.joinable()) thread_ = std::thread(&Worker::Loop, this);
    std::lock_guard<std::mutex> lock(mu_);
    job_ = std::move(job);
    has_job_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !has_job_; });
  }
  // The thread exits (HAKMEM returns its caches, its slabs are abandoned);
  // the next Run starts a new one.
  void Restart() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
      cv_.notify_all();
    }
    thread_.join();
    quit_ = false;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return has_job_ || quit_; });
      if (has_job_) {
        std::function<void()> job = std::move(job_);
        lock.unlock();
        job();
        lock.lock();
        has_job_ = false;
        cv_.notify_all();
        continue;
      }
      return;  // quit
    }
  }

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool has_job_ = false;
  bool quit_ = false;
};

Worker& TheWorker() {
  static Worker* w = new Worker;
  return *w;
}

void RunLane(Lane& l, const std::vector<Op>& ops, size_t from, size_t to) {
  for (size_t k = from; k < to; k++) {
    if (ops[k].lane == l.id) Execute(l, ops[k]);
  }
}

bool HasOps(int lane, const std::vector<Op>& ops, size_t from, size_t to) {
  for (size_t k = from; k < to; k++) {
    if (ops[k].lane == lane) return true;
  }
  return false;
}

void SegCheck(Lane& l) {
  const int bad = hkt_stress_seg_check();
  if (bad != 0) Violation(l, "hk_seg_check found %d problems (reported above)", bad);
}

void VerifyAll(Lane& a, Lane& b) {
  for (Lane* l : {&a, &b}) {
    for (Block& s : l->slot) {
      if (s.p != nullptr) Verify(a, s, "phase-end verification");
    }
  }
  std::lock_guard<std::mutex> lock(g_mail_mu);
  for (Block& s : g_mailbox) Verify(a, s, "phase-end verification (mailbox)");
}

}  // namespace

void SetOptions(const Options& options) {
  g_options = options;
  g_corrupt_pending.store(options.inject_corruption);
}

size_t Violations() {
  std::lock_guard<std::mutex> lock(g_violation_mu);
  return g_violations;
}

std::string FirstViolation() {
  std::lock_guard<std::mutex> lock(g_violation_mu);
  return g_first_violation;
}

void ResetViolations() {
  std::lock_guard<std::mutex> lock(g_violation_mu);
  g_violations = 0;
  g_first_violation.clear();
}

uint64_t OpsExecuted() { return g_ops.load(); }

void RunInput(const uint8_t* data, size_t size) {
  const std::vector<Op> ops = Decode(data, size);
  Worker& worker = TheWorker();
  Lane a, b;
  a.name = 'A';
  a.id = 0;
  b.name = 'B';
  b.id = 1;
  int restarts = 0;
  size_t i = 0;
  for (int phase = 0;; phase++) {
    size_t j = i;
    while (j < ops.size() && ops[j].kind != kSync) j++;
    const uint8_t flags = j < ops.size() ? ops[j].arg : kFinalPhaseFlags;
    a.phase = b.phase = phase;
    const bool has_b = HasOps(1, ops, i, j);
    a.alone = !has_b || !(flags & 1);
    b.alone = !(flags & 1) || !HasOps(0, ops, i, j);
    if (!has_b) {
      RunLane(a, ops, i, j);
    } else if (flags & 1) {
      worker.Run([&] { RunLane(b, ops, i, j); });
      RunLane(a, ops, i, j);
      worker.Wait();
    } else {
      if (!(flags & 2)) RunLane(a, ops, i, j);
      worker.Run([&] { RunLane(b, ops, i, j); });
      worker.Wait();
      if (flags & 2) RunLane(a, ops, i, j);
    }
    // Both lanes idle here.
    if (flags & 4) VerifyAll(a, b);
    if (flags & 8) SegCheck(a);
    if ((flags & 16) && restarts < kMaxRestarts) {
      worker.Restart();
      restarts++;
    }
    if (flags & 32) hak_trim(0);
    if (j >= ops.size()) break;
    i = j + 1;
  }
  // Everything is freed: each lane its own blocks (concurrently), then lane
  // A whatever is still in the mailbox (cross-thread for B's blocks).
  a.phase = b.phase = -1;
  a.alone = b.alone = false;
  worker.Run([&] {
    for (Block& s : b.slot) {
      if (s.p != nullptr) Retire(b, s);
    }
  });
  for (Block& s : a.slot) {
    if (s.p != nullptr) Retire(a, s);
  }
  worker.Wait();
  {
    std::deque<Block> rest;
    {
      std::lock_guard<std::mutex> lock(g_mail_mu);
      rest.swap(g_mailbox);
    }
    for (Block& s : rest) Retire(a, s);
  }
  if (g_ranges.Size() != 0) Violation(a, "model: %zu ranges left after freeing everything", g_ranges.Size());
  if (g_live_bytes.load() != 0) {
    Violation(a, "model: budget holds %lld B after freeing everything",
              static_cast<long long>(g_live_bytes.load()));
  }
  hak_stats_t st;
  memset(&st, 0, sizeof(st));
  st.size = sizeof(st);
  hak_stats_get(&st);
  if (st.large_live != 0 || st.large_live_bytes != 0) {
    Violation(a, "after every block was freed HAKMEM still counts %llu large blocks (%llu B) live",
              static_cast<unsigned long long>(st.large_live),
              static_cast<unsigned long long>(st.large_live_bytes));
  }
  SegCheck(a);
}

}  // namespace hkfuzz
