// Tests of the segment box (hakmem/segment) through the C helper
// segment_support.c: the shared pool's three-stage acquire and the slot
// states, the bounded LRU of empty SuperSlabs, region lookup for our own and
// foreign pointers, remote-free queues and their drain by the owner, and
// abandonment at thread exit / adoption by another owner.
//
// The pool is process-wide: every test starts from (and leaves) a clean pool
// — no SuperSlab mapped after hk_seg_trim — which the fixture checks.
#include "tests/segment/segment_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

// Classes used below (block size, blocks per 64 KiB slab).
constexpr unsigned kC64 = 3;    // 64 B, 1024 per slab
constexpr unsigned kC128 = 4;   // 128 B, 512 per slab
constexpr unsigned kC256 = 5;   // 256 B
constexpr unsigned kC512 = 6;   // 512 B, 128 per slab
constexpr unsigned kC1024 = 7;  // 1024 B, 64 per slab
constexpr unsigned kC2048 = 11;
constexpr unsigned kC3072 = 13;
constexpr unsigned kC21760 = 24;  // 3 per slab
constexpr unsigned kC32768 = 25;  // 2 per slab

uintptr_t U(const void *p) { return reinterpret_cast<uintptr_t>(p); }

// The registry entry a released SuperSlab leaves behind.
uintptr_t ReleasedEntry(const void *ss) {
  return U(ss) | HKT_REGION_RELEASED | (uintptr_t{HKT_REGION_SUPERSLAB} << 4);
}

// No live region: nothing mapped, or a released region's tombstone.
bool NotOwned(uintptr_t entry) { return entry == 0 || (entry & 0xf) == HKT_REGION_RELEASED; }
void *At(uintptr_t a) { return reinterpret_cast<void *>(a); }

hkt_seg_stats_t Stats() {
  hkt_seg_stats_t st;
  hkt_stats(&st);
  return st;
}

hkt_slab_info_t Info(const void *p) {
  hkt_slab_info_t info;
  memset(&info, 0, sizeof(info));
  EXPECT_TRUE(hkt_slab_info(p, &info)) << "not in a SuperSlab: " << p;
  return info;
}

void *SlabBase(const void *p) { return Info(p).base; }
void *SuperSlabOf(const void *p) { return At(U(p) & ~(hkt_superslab_size() - 1)); }

// Fills a held block with a pattern derived from its address, and checks it.
void Stamp(void *p, size_t size) {
  auto *w = static_cast<uint64_t *>(p);
  for (size_t i = 0; i < size / 8; i++) w[i] = U(p) * 31u + i;
}
bool StampOk(const void *p, size_t size) {
  auto *w = static_cast<const uint64_t *>(p);
  for (size_t i = 0; i < size / 8; i++) {
    if (w[i] != U(p) * 31u + i) return false;
  }
  return true;
}

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hkt_configure(4, 4);
    hkt_trim();
    hkt_seg_stats_t st = Stats();
    ASSERT_EQ(st.superslabs_live, 0u) << "pool not clean at test start";
    ASSERT_EQ(st.superslabs_cached, 0u);
    ASSERT_EQ(st.slabs_active, 0u);
    ASSERT_EQ(st.slabs_empty, 0u);
    ASSERT_EQ(st.slabs_abandoned, 0u);
    adopted0_ = st.slabs_adopted;
  }

  void TearDown() override {
    for (hkt_owner *o : owners_) hkt_owner_delete(o);
    owners_.clear();
    hkt_configure(4, 4);
    EXPECT_EQ(hkt_check(), 0);
    hkt_trim();
    hkt_seg_stats_t st = Stats();
    EXPECT_EQ(st.superslabs_live, 0u) << "test left SuperSlabs behind";
    EXPECT_EQ(st.slabs_active, 0u);
    EXPECT_EQ(st.slabs_empty, 0u);
    EXPECT_EQ(st.slabs_abandoned, 0u);
  }

  hkt_owner *NewOwner() {
    hkt_owner *o = hkt_owner_new();
    EXPECT_NE(o, nullptr);
    owners_.push_back(o);
    return o;
  }

  std::vector<void *> Refill(hkt_owner *o, unsigned cls, uint32_t want) {
    std::vector<void *> out(want);
    uint32_t n = hkt_refill(o, cls, want, out.data());
    EXPECT_LE(n, want);
    out.resize(n);
    return out;
  }

  void FreeAll(hkt_owner *o, const std::vector<void *> &v) {
    for (void *p : v) ASSERT_TRUE(hkt_free_local(o, p)) << "not owned: " << p;
  }

  std::vector<hkt_owner *> owners_;
  uint64_t adopted0_ = 0;
};

// ---- acquire stages and slot states ------------------------------------------

TEST_F(SegmentTest, RefillCarvesDistinctAlignedBlocksOfOneSlab) {
  hkt_owner *o = NewOwner();
  const uint32_t cap = hkt_class_capacity(kC512);
  const uint32_t size = hkt_class_size(kC512);
  ASSERT_EQ(size, 512u);
  ASSERT_EQ(cap, hkt_slab_size() / 512);
  std::vector<void *> a = Refill(o, kC512, cap);
  ASSERT_EQ(a.size(), cap);
  void *base = SlabBase(a[0]);
  EXPECT_EQ(U(base) % hkt_slab_size(), 0u);
  EXPECT_NE(base, SuperSlabOf(a[0])) << "blocks carved from the header slab";
  std::set<long> seen;
  for (void *p : a) {
    hkt_slab_info_t in = Info(p);
    ASSERT_EQ(in.base, base) << p;
    ASSERT_EQ(U(p) % size, 0u) << p;
    ASSERT_GE(in.block_index, 0) << p;
    ASSERT_TRUE(seen.insert(in.block_index).second) << "block handed out twice: " << p;
    Stamp(p, size);
  }
  for (void *p : a) ASSERT_TRUE(StampOk(p, size)) << "blocks overlap at " << p;
  hkt_slab_info_t in = Info(a[0]);
  EXPECT_EQ(in.state, unsigned{HKT_SLAB_ACTIVE});
  EXPECT_EQ(in.cls, kC512);
  EXPECT_EQ(in.owner, hkt_owner_token(o));
  EXPECT_EQ(in.used, cap);
  EXPECT_EQ(in.carved, cap);
  EXPECT_EQ(in.capacity, cap);
  EXPECT_EQ(in.block_size, size);
  EXPECT_EQ(hkt_owner_current(o, kC512), base);
  EXPECT_EQ(hkt_owner_nslabs(o, kC512), 1u);
  FreeAll(o, a);
  in = Info(a[0]);
  EXPECT_EQ(in.used, 0u);
  // The current slab stays with its owner even when all its blocks are back.
  EXPECT_EQ(in.state, unsigned{HKT_SLAB_ACTIVE});
  EXPECT_EQ(hkt_slab_free_count(a[0]), cap);
}

// A refill takes as many slabs as it needs: a 32 KiB class has 2 blocks per
// slab, and a cache refill of 9 must not stop after the first slab (the
// 8..32 KiB classes would run their slow path every other malloc).
TEST_F(SegmentTest, RefillTakesSeveralSlabsOfALargeClass) {
  hkt_owner *o = NewOwner();
  ASSERT_EQ(hkt_class_capacity(kC32768), 2u);
  std::vector<void *> a = Refill(o, kC32768, 9);
  ASSERT_EQ(a.size(), 9u);
  std::set<void *> slabs, blocks;
  for (void *p : a) {
    ASSERT_TRUE(blocks.insert(p).second) << "block handed out twice: " << p;
    slabs.insert(SlabBase(p));
    Stamp(p, 32768);
  }
  for (void *p : a) ASSERT_TRUE(StampOk(p, 32768)) << "blocks overlap at " << p;
  EXPECT_EQ(slabs.size(), 5u);
  EXPECT_EQ(hkt_owner_nslabs(o, kC32768), 5u);
  FreeAll(o, a);
}

TEST_F(SegmentTest, ThreeStageAcquire) {
  hkt_owner *o = NewOwner();
  const uint32_t capA = hkt_class_capacity(kC1024);

  // Stage 3: the first slab of the process maps a SuperSlab.
  std::vector<void *> a1 = Refill(o, kC1024, capA);
  ASSERT_EQ(a1.size(), capA);
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.superslabs_live, 1u);
  EXPECT_EQ(st.slabs_active, 1u);
  void *ss = SuperSlabOf(a1[0]);
  void *slab1 = SlabBase(a1[0]);
  EXPECT_EQ(hkt_region_entry(ss), U(ss) | HKT_REGION_SUPERSLAB);

  // Slot states of the SuperSlab: header, one ACTIVE, the rest UNUSED.
  const unsigned nslots = hkt_slabs_per_ss();
  std::vector<unsigned> before(nslots);
  unsigned unused = 0;
  for (unsigned i = 0; i < nslots; i++) {
    hkt_slab_info_t in = Info(static_cast<char *>(ss) + i * hkt_slab_size());
    EXPECT_EQ(in.index, i);
    before[i] = in.state;
    unused += in.state == HKT_SLAB_UNUSED;
  }
  EXPECT_EQ(before[0], unsigned{HKT_SLAB_HEADER});
  EXPECT_EQ(unused, nslots - 2);
  EXPECT_EQ(Info(slab1).state, unsigned{HKT_SLAB_ACTIVE});

  // Stage 2: another class takes an UNUSED slot of the same SuperSlab.
  std::vector<void *> b = Refill(o, kC512, 1);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(SuperSlabOf(b[0]), ss);
  hkt_slab_info_t bi = Info(b[0]);
  EXPECT_EQ(before[bi.index], unsigned{HKT_SLAB_UNUSED}) << "slot " << bi.index;
  EXPECT_EQ(bi.state, unsigned{HKT_SLAB_ACTIVE});
  EXPECT_EQ(bi.cls, kC512);
  st = Stats();
  EXPECT_EQ(st.superslabs_live, 1u);
  EXPECT_EQ(st.slabs_active, 2u);

  // The class's first slab is used up: the next refill moves to a second slab
  // (again an UNUSED slot of the same SuperSlab) and parks the first as full.
  std::vector<void *> a2 = Refill(o, kC1024, capA);
  ASSERT_EQ(a2.size(), capA);
  void *slab2 = SlabBase(a2[0]);
  EXPECT_NE(slab2, slab1);
  EXPECT_EQ(SuperSlabOf(slab2), ss);
  EXPECT_EQ(before[Info(slab2).index], unsigned{HKT_SLAB_UNUSED});
  for (void *p : a2) ASSERT_EQ(SlabBase(p), slab2);
  EXPECT_EQ(Info(slab1).list, unsigned{HKT_LIST_FULL});
  EXPECT_EQ(hkt_owner_current(o, kC1024), slab2);
  EXPECT_EQ(hkt_owner_nslabs(o, kC1024), 2u);
  EXPECT_EQ(Stats().superslabs_live, 1u);

  // All blocks of the first slab come back: it is not the current slab, so
  // it goes back to the pool as EMPTY (ACTIVE -> EMPTY).
  FreeAll(o, std::vector<void *>(a1.begin(), a1.end() - 1));
  EXPECT_EQ(Info(slab1).state, unsigned{HKT_SLAB_ACTIVE});
  EXPECT_EQ(Info(slab1).list, unsigned{HKT_LIST_PARTIAL});
  ASSERT_TRUE(hkt_free_local(o, a1.back()));
  hkt_slab_info_t s1 = Info(slab1);
  EXPECT_EQ(s1.state, unsigned{HKT_SLAB_EMPTY});
  EXPECT_EQ(s1.owner, 0u);
  EXPECT_EQ(hkt_owner_nslabs(o, kC1024), 1u);
  st = Stats();
  EXPECT_EQ(st.slabs_empty, 1u);
  EXPECT_EQ(st.slabs_active, 2u);
  EXPECT_EQ(st.superslabs_live, 1u);
  EXPECT_EQ(hkt_check(), 0);

  // Stage 1: the second slab is used up too; the next acquire of the class
  // reuses the EMPTY slot (EMPTY -> ACTIVE), not one of the UNUSED ones.
  std::vector<void *> x = Refill(o, kC1024, 1);
  ASSERT_EQ(x.size(), 1u);
  EXPECT_EQ(SlabBase(x[0]), slab1);
  s1 = Info(slab1);
  EXPECT_EQ(s1.state, unsigned{HKT_SLAB_ACTIVE});
  EXPECT_EQ(s1.owner, hkt_owner_token(o));
  EXPECT_EQ(s1.used, 1u);
  EXPECT_EQ(s1.carved, 1u) << "a reused slab starts carving afresh";
  st = Stats();
  EXPECT_EQ(st.slabs_empty, 0u);
  EXPECT_EQ(st.slabs_active, 3u);
  EXPECT_EQ(st.superslabs_live, 1u);

  // Everything back and the owner gone: the SuperSlab is fully empty and goes
  // to the LRU (still mapped and registered).
  FreeAll(o, a2);
  FreeAll(o, x);
  FreeAll(o, b);
  hkt_owner_release_all(o);
  st = Stats();
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(st.slabs_empty, 0u);
  EXPECT_EQ(st.superslabs_live, 1u);
  EXPECT_EQ(st.superslabs_cached, 1u);
  EXPECT_EQ(hkt_region_entry(ss), U(ss) | HKT_REGION_SUPERSLAB);
  for (unsigned i = 1; i < nslots; i++) {
    EXPECT_EQ(Info(static_cast<char *>(ss) + i * hkt_slab_size()).state, unsigned{HKT_SLAB_UNUSED})
        << "slot " << i << " of a retired SuperSlab";
  }

  // Stage 3 again: a new SuperSlab comes from the LRU first.
  std::vector<void *> y = Refill(o, kC64, 1);
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(SuperSlabOf(y[0]), ss);
  st = Stats();
  EXPECT_EQ(st.superslabs_live, 1u);
  EXPECT_EQ(st.superslabs_cached, 0u);
  EXPECT_EQ(Info(y[0]).cls, kC64);
  FreeAll(o, y);
  hkt_owner_release_all(o);
  EXPECT_EQ(Stats().superslabs_cached, 1u);

  // hk_seg_trim unmaps the LRU and unregisters its SuperSlabs.
  EXPECT_GT(hkt_trim(), 0u);
  st = Stats();
  EXPECT_EQ(st.superslabs_live, 0u);
  EXPECT_EQ(st.superslabs_cached, 0u);
  EXPECT_EQ(hkt_region_entry(ss), ReleasedEntry(ss));
  EXPECT_FALSE(hkt_in_superslab(ss));
}

TEST_F(SegmentTest, EmptySlotOfAnotherClassBeforeANewSuperSlab) {
  hkt_owner *o = NewOwner();
  const unsigned usable = hkt_slabs_per_ss() - 1;  // slot 0 is the header
  ASSERT_EQ(hkt_class_capacity(kC32768), 2u);
  // Every usable slot of one SuperSlab, one slab per refill.
  std::vector<std::vector<void *>> slabs;
  for (unsigned i = 0; i < usable; i++) {
    slabs.push_back(Refill(o, kC32768, 2));
    ASSERT_EQ(slabs.back().size(), 2u);
  }
  void *ss = SuperSlabOf(slabs[0][0]);
  for (auto &v : slabs) ASSERT_EQ(SuperSlabOf(v[0]), ss);
  ASSERT_EQ(Stats().superslabs_live, 1u);
  // Slab 3's blocks come back: EMPTY in class C25.
  void *freed = SlabBase(slabs[3][0]);
  FreeAll(o, slabs[3]);
  ASSERT_EQ(Info(freed).state, unsigned{HKT_SLAB_EMPTY});
  // Class C24 has no EMPTY slot and there is no UNUSED slot left: the EMPTY
  // slot of C25 is taken before a new SuperSlab is mapped.
  std::vector<void *> c = Refill(o, kC21760, 1);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(SlabBase(c[0]), freed);
  hkt_slab_info_t in = Info(c[0]);
  EXPECT_EQ(in.cls, kC21760);
  EXPECT_EQ(in.block_size, hkt_class_size(kC21760));
  EXPECT_EQ(in.capacity, 3u);
  EXPECT_EQ(Stats().superslabs_live, 1u);
  // Now the SuperSlab is full: the next slab needs a second SuperSlab.
  std::vector<void *> d = Refill(o, kC64, 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(SuperSlabOf(d[0]), ss);
  EXPECT_EQ(Stats().superslabs_live, 2u);
  for (size_t i = 0; i < slabs.size(); i++) {
    if (i != 3) FreeAll(o, slabs[i]);
  }
  FreeAll(o, c);
  FreeAll(o, d);
  hkt_owner_release_all(o);
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(st.superslabs_cached, 2u);
}

TEST_F(SegmentTest, LruOfEmptySuperSlabsIsBounded) {
  hkt_configure(/*lru_max=*/2, /*dirty_empty_max=*/4);
  hkt_owner *o = NewOwner();
  const unsigned usable = hkt_slabs_per_ss() - 1;
  // Four SuperSlabs' worth of C25 slabs (two blocks each).
  std::vector<void *> blocks;
  std::vector<void *> order;  // SuperSlabs in the order they were mapped
  for (unsigned i = 0; i < 4 * usable; i++) {
    std::vector<void *> v = Refill(o, kC32768, 2);
    ASSERT_EQ(v.size(), 2u);
    void *ss = SuperSlabOf(v[0]);
    if (std::find(order.begin(), order.end(), ss) == order.end()) order.push_back(ss);
    blocks.insert(blocks.end(), v.begin(), v.end());
  }
  ASSERT_EQ(order.size(), 4u);
  hkt_seg_stats_t st = Stats();
  ASSERT_EQ(st.superslabs_live, 4u);
  ASSERT_EQ(st.slabs_active, 4u * usable);
  const uint64_t mapped_full = hkt_os_mapped_bytes();

  // Free everything in allocation order: the SuperSlabs empty one by one
  // (the last one when the owner releases its current slab).
  FreeAll(o, blocks);
  hkt_owner_release_all(o);
  st = Stats();
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(st.slabs_empty, 0u);
  EXPECT_LE(st.superslabs_cached, 2u);
  EXPECT_EQ(st.superslabs_cached, 2u);
  EXPECT_EQ(st.superslabs_live, 2u) << "SuperSlabs beyond the LRU bound must be unmapped";
  EXPECT_LE(hkt_os_mapped_bytes() + 2 * hkt_superslab_size(), mapped_full);
  // The least recently emptied ones were unmapped and unregistered (a
  // RELEASED tombstone remains); the two most recent stay registered.
  EXPECT_EQ(hkt_region_entry(order[0]), ReleasedEntry(order[0]));
  EXPECT_EQ(hkt_region_entry(order[1]), ReleasedEntry(order[1]));
  EXPECT_EQ(hkt_region_entry(order[2]), U(order[2]) | HKT_REGION_SUPERSLAB);
  EXPECT_EQ(hkt_region_entry(order[3]), U(order[3]) | HKT_REGION_SUPERSLAB);
  EXPECT_EQ(hkt_check(), 0);

  // lru_max = 0: a SuperSlab is unmapped as soon as it is empty.
  hkt_trim();
  hkt_configure(0, 4);
  std::vector<void *> v = Refill(o, kC64, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(Stats().superslabs_live, 1u);
  FreeAll(o, v);
  hkt_owner_release_all(o);
  st = Stats();
  EXPECT_EQ(st.superslabs_live, 0u);
  EXPECT_EQ(st.superslabs_cached, 0u);
}

// A SuperSlab that empties parks in the LRU with its pages: a producer whose
// consumer frees in allocation order empties whole SuperSlabs and needs
// them back at once (purging them at retirement cost a madvise and a page
// fault per page each round). At most 4 stay unpurged (the oldest is purged
// beyond that; the decay purges idle ones), and trim purges or unmaps them.
TEST_F(SegmentTest, RetiredSuperSlabKeepsItsPagesUntilDecayOrTrim) {
  hkt_configure(/*lru_max=*/8, /*dirty_empty_max=*/4);
  hkt_owner *o = NewOwner();
  const unsigned usable = hkt_slabs_per_ss() - 1;
  std::vector<void *> blocks;
  for (unsigned i = 0; i < usable; i++) {
    std::vector<void *> v = Refill(o, kC32768, 2);
    ASSERT_EQ(v.size(), 2u);
    blocks.insert(blocks.end(), v.begin(), v.end());
  }
  void *ss = SuperSlabOf(blocks[0]);
  // The slabs that empty one by one follow the slab policy (beyond the
  // class's reserve they are purged: this class only frees); the current
  // slab's release then retires the SuperSlab, which purges nothing more.
  FreeAll(o, blocks);
  const uint64_t purged0 = hkt_os_purged_bytes();
  hkt_owner_release_all(o);
  hkt_seg_stats_t st = Stats();
  ASSERT_EQ(st.superslabs_cached, 1u);
  EXPECT_EQ(hkt_os_purged_bytes(), purged0) << "a retired SuperSlab was purged at once";
  // Reused as it is: the same SuperSlab, no new mapping.
  const uint64_t mapped = hkt_os_mapped_bytes();
  std::vector<void *> v = Refill(o, kC64, 1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(SuperSlabOf(v[0]), ss);
  EXPECT_EQ(hkt_os_mapped_bytes(), mapped);
  FreeAll(o, v);
  hkt_owner_release_all(o);
  // Trim gives everything back.
  hkt_trim();
  st = Stats();
  EXPECT_EQ(st.superslabs_cached, 0u);
  EXPECT_EQ(st.superslabs_live, 0u);
  EXPECT_EQ(hkt_check(), 0);
}

TEST_F(SegmentTest, ReleaseWithoutLiveBlocksReturnsSlabsNotAbandons) {
  hkt_owner *o = NewOwner();
  std::vector<void *> a = Refill(o, kC128, 100);
  std::vector<void *> b = Refill(o, kC1024, 10);
  ASSERT_EQ(a.size(), 100u);
  ASSERT_EQ(b.size(), 10u);
  FreeAll(o, a);
  FreeAll(o, b);
  EXPECT_EQ(Stats().slabs_active, 2u);
  hkt_owner_release_all(o);
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(st.slabs_abandoned, 0u);
  EXPECT_EQ(hkt_owner_nslabs(o, kC128), 0u);
  EXPECT_EQ(hkt_owner_current(o, kC128), nullptr);
}

// ---- region lookup ---------------------------------------------------------------

int g_global_var = 1;

TEST_F(SegmentTest, RegionLookupOfOurPointers) {
  hkt_owner *o = NewOwner();
  std::vector<void *> a = Refill(o, kC64, 8);
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(Stats().superslabs_live, 1u);
  char *ss = static_cast<char *>(SuperSlabOf(a[0]));
  const size_t SS = hkt_superslab_size(), SL = hkt_slab_size();
  const uintptr_t entry = U(ss) | HKT_REGION_SUPERSLAB;

  // Interior pointers of a block and of its slab map to the same slab.
  char *p = static_cast<char *>(a[3]);
  char *base = static_cast<char *>(SlabBase(p));
  const void *desc = hkt_slab_descriptor(p);
  ASSERT_NE(desc, nullptr);
  for (size_t off : {size_t{1}, size_t{7}, size_t{63}}) {
    EXPECT_EQ(hkt_slab_descriptor(p + off), desc) << off;
    EXPECT_EQ(Info(p + off).block_index, -1) << "interior pointer taken for a block start";
  }
  EXPECT_EQ(Info(p).block_index, static_cast<long>((p - base) / 64));
  EXPECT_EQ((p - base) % 64, 0);
  EXPECT_EQ(hkt_slab_descriptor(base), desc);
  EXPECT_EQ(hkt_slab_descriptor(base + SL - 1), desc);
  EXPECT_NE(hkt_slab_descriptor(base + SL), desc) << "next slab";
  EXPECT_NE(hkt_slab_descriptor(base - 1), desc) << "previous slab";

  // The header slab, and the first and last byte of the SuperSlab.
  EXPECT_EQ(hkt_region_entry(ss), entry);
  EXPECT_EQ(hkt_region_kind(hkt_region_entry(ss)), unsigned{HKT_REGION_SUPERSLAB});
  EXPECT_EQ(hkt_region_header(hkt_region_entry(ss)), ss);
  hkt_slab_info_t h = Info(ss);
  EXPECT_EQ(h.index, 0u);
  EXPECT_EQ(h.state, unsigned{HKT_SLAB_HEADER});
  EXPECT_EQ(Info(ss + SL - 1).index, 0u);
  EXPECT_EQ(hkt_region_entry(ss + SS - 1), entry);
  hkt_slab_info_t last = Info(ss + SS - 1);
  EXPECT_EQ(last.index, hkt_slabs_per_ss() - 1);
  EXPECT_EQ(last.base, ss + SS - SL);
  EXPECT_EQ(last.state, unsigned{HKT_SLAB_UNUSED});
  for (unsigned i = 0; i < hkt_slabs_per_ss(); i++) {
    EXPECT_EQ(hkt_region_entry(ss + i * SL + SL / 2), entry) << "slot " << i;
  }

  // One byte outside on either side: the only SuperSlab is this one, so the
  // neighbouring 2 MiB chunks belong to nobody (at most a tombstone of a
  // SuperSlab an earlier test released).
  EXPECT_TRUE(NotOwned(hkt_region_entry(ss - 1))) << hkt_region_entry(ss - 1);
  EXPECT_TRUE(NotOwned(hkt_region_entry(ss + SS))) << hkt_region_entry(ss + SS);
  EXPECT_FALSE(hkt_in_superslab(ss - 1));
  EXPECT_FALSE(hkt_in_superslab(ss + SS));
  EXPECT_EQ(hkt_slab_descriptor(ss - 1), nullptr);
  EXPECT_EQ(hkt_slab_descriptor(ss + SS), nullptr);

  FreeAll(o, a);
}

TEST_F(SegmentTest, RegionLookupOfForeignPointersIsSafe) {
  hkt_owner *o = NewOwner();
  std::vector<void *> a = Refill(o, kC64, 1);  // so the registry has a leaf
  ASSERT_EQ(a.size(), 1u);
  int stack_var = 2;
  static int static_var = 3;
  std::unique_ptr<char[]> heap(new char[100]);
  void *big = malloc(8 << 20);  // glibc mmap chunk (this test has no shim)
  ASSERT_NE(big, nullptr);
  const void *foreign[] = {
      nullptr,
      &stack_var,
      &static_var,
      &g_global_var,
      heap.get(),
      big,
      static_cast<char *>(big) + (4 << 20),
      reinterpret_cast<void *>(&Stats),  // code
      At(1),
      At(4096),
      At(~uintptr_t{0}),  // (void*)-1
      At(~uintptr_t{0} - 4095),
      At(uintptr_t{1} << 47),  // first non-canonical user address
      At((uintptr_t{1} << 48) - 1),
      At(uintptr_t{1} << 48),
      At(uintptr_t{0xffff800000000000}),  // kernel half
      At(uintptr_t{0xffffffffff600000}),  // x86-64 vsyscall page
      At(uintptr_t{0x8000000000000000}),
  };
  for (const void *p : foreign) {
    // glibc may have mapped memory where an earlier test released a
    // SuperSlab: a tombstone, never a live region.
    EXPECT_TRUE(NotOwned(hkt_region_entry(p))) << p << " " << hkt_region_entry(p);
    EXPECT_FALSE(hkt_in_superslab(p)) << p;
    EXPECT_EQ(hkt_slab_descriptor(p), nullptr) << p;
  }
  free(big);
  FreeAll(o, a);
}

// ---- remote frees ------------------------------------------------------------------

TEST_F(SegmentTest, RemoteFreesAreDrainedByTheOwnersRefill) {
  hkt_owner *o = NewOwner();
  const uint32_t cap = hkt_class_capacity(kC128);
  std::vector<void *> a = Refill(o, kC128, cap);
  ASSERT_EQ(a.size(), cap);
  void *slab = SlabBase(a[0]);
  std::set<void *> remote;
  std::vector<void *> kept;
  for (size_t i = 0; i < a.size(); i++)
    (i % 2 == 0 ? remote.insert(a[i]), void() : kept.push_back(a[i]));

  std::atomic<bool> all_ok{true};
  std::thread t([&] {
    for (void *p : remote) {
      if (!hkt_free_remote(p)) all_ok = false;
    }
  });
  t.join();
  ASSERT_TRUE(all_ok);

  // Not visible to the owner yet: still counted as used, free list empty.
  hkt_slab_info_t in = Info(slab);
  EXPECT_EQ(in.used, cap);
  EXPECT_EQ(in.carved, cap);
  EXPECT_TRUE(in.remote_pending);
  EXPECT_EQ(hkt_slab_free_count(slab), 0u);
  EXPECT_EQ(hkt_slab_remote_count(slab), remote.size());

  // The owner's refill drains the queue first and hands out those blocks.
  std::vector<void *> r = Refill(o, kC128, 100);
  ASSERT_EQ(r.size(), 100u);
  for (void *p : r) EXPECT_EQ(remote.count(p), 1u) << p << " was not freed remotely";
  in = Info(slab);
  EXPECT_FALSE(in.remote_pending);
  EXPECT_EQ(in.carved, cap);
  EXPECT_EQ(in.used, cap - remote.size() + 100);
  EXPECT_EQ(hkt_slab_free_count(slab), remote.size() - 100);
  EXPECT_EQ(Stats().slabs_active, 1u) << "no new slab was needed";
  EXPECT_EQ(hkt_check(), 0);

  FreeAll(o, kept);
  FreeAll(o, r);
  in = Info(slab);
  EXPECT_EQ(in.used, 0u);
  EXPECT_EQ(hkt_slab_free_count(slab), cap);
  hkt_owner_release_all(o);
  EXPECT_EQ(Stats().slabs_abandoned, 0u);
  EXPECT_EQ(Stats().slabs_active, 0u);
}

// A thread freeing another owner's blocks batches them per slab: one CAS
// publishes a run of frees into one slab; a free into another slab, the
// batch bound or an explicit flush publishes what is pending.
TEST_F(SegmentTest, RemoteFreesAreBatchedPerSlab) {
  hkt_owner *o = NewOwner();
  const uint32_t cap = hkt_class_capacity(kC512);  // 128 per slab
  std::vector<void *> a = Refill(o, kC512, cap);
  std::vector<void *> b = Refill(o, kC512, 10);  // a second slab
  ASSERT_EQ(a.size(), cap);
  ASSERT_EQ(b.size(), 10u);
  void *slab_a = SlabBase(a[0]), *slab_b = SlabBase(b[0]);
  ASSERT_NE(slab_a, slab_b);

  std::thread t([&] {
    for (size_t i = 0; i < 40; i++) ASSERT_TRUE(hkt_batch_free(a[i]));
    // Pending in the batch: the slab's queue is still empty.
    EXPECT_EQ(hkt_batch_pending(), 40u);
    EXPECT_EQ(hkt_slab_remote_count(slab_a), 0u);
    // Another slab: the pending run is published (one push of 40).
    ASSERT_TRUE(hkt_batch_free(b[0]));
    EXPECT_EQ(hkt_slab_remote_count(slab_a), 40u);
    EXPECT_EQ(hkt_batch_pending(), 1u);
    hkt_batch_flush();
    EXPECT_EQ(hkt_batch_pending(), 0u);
    EXPECT_EQ(hkt_slab_remote_count(slab_b), 1u);
    // The bound: a run of more than HK_SEG_BATCH_MAX (64) frees into one
    // slab is published in pieces of at most 64.
    for (size_t i = 40; i < cap; i++) ASSERT_TRUE(hkt_batch_free(a[i]));
    EXPECT_LE(hkt_batch_pending(), 64u);
    EXPECT_EQ(hkt_slab_remote_count(slab_a) + hkt_batch_pending(), cap);
    hkt_batch_flush();
  });
  t.join();
  EXPECT_EQ(hkt_slab_remote_count(slab_a), cap);
  hkt_slab_info_t in = Info(slab_a);
  EXPECT_EQ(in.used, cap) << "batched blocks stay counted in use until the owner drains them";
  EXPECT_EQ(hkt_check(), 0);
  b.erase(b.begin());
  FreeAll(o, b);
  // The owner exits with slab_a full of remote frees: a trim drains the
  // abandoned slab, finds every block back and releases it (the fixture
  // checks that nothing is left).
  hkt_owner_release_all(o);
  hkt_trim();
  EXPECT_EQ(Stats().slabs_active, 0u);
  EXPECT_EQ(hkt_check(), 0);
}

TEST_F(SegmentTest, RemoteFreesOfAFullSlabMakeItUsableAgain) {
  // A full (not current) slab whose blocks all come back remotely is found by
  // the owner's refill and returned to the pool: the next acquire reuses it.
  hkt_owner *o = NewOwner();
  const uint32_t cap = hkt_class_capacity(kC1024);
  std::vector<void *> a1 = Refill(o, kC1024, cap);
  std::vector<void *> a2 = Refill(o, kC1024, cap);
  ASSERT_EQ(a1.size(), cap);
  ASSERT_EQ(a2.size(), cap);
  void *slab1 = SlabBase(a1[0]);
  ASSERT_EQ(Info(slab1).list, unsigned{HKT_LIST_FULL});
  std::thread t([&] {
    for (void *p : a1) hkt_free_remote(p);
  });
  t.join();
  EXPECT_EQ(Info(slab1).used, cap);
  std::vector<void *> r = Refill(o, kC1024, 4);
  ASSERT_EQ(r.size(), 4u);
  // Either handed out again directly, or emptied back to the pool and then
  // reused: in both cases the blocks come from slab 1 and nothing was lost.
  for (void *p : r) EXPECT_EQ(SlabBase(p), slab1) << p;
  EXPECT_EQ(Stats().slabs_active, 2u);
  EXPECT_EQ(Stats().superslabs_live, 1u);
  EXPECT_EQ(Info(slab1).used, 4u);
  FreeAll(o, a2);
  FreeAll(o, r);
  hkt_owner_release_all(o);
  EXPECT_EQ(Stats().slabs_abandoned, 0u);
}

TEST_F(SegmentTest, ConcurrentRemoteFreesWhileTheOwnerAllocates) {
  // The owner keeps refilling and freeing locally while three threads free
  // blocks it handed them. Blocks must never be handed out twice, contents of
  // held blocks must survive, and all counts must come back exactly.
  hkt_owner *o = NewOwner();
  constexpr int kFreers = 3;
#if defined(__aarch64__)
  constexpr int kRounds = 400;
#else
  constexpr int kRounds = 2000;
#endif
  const unsigned classes[] = {kC64, kC256, kC1024, kC2048};
  ASSERT_EQ(hkt_class_size(kC2048), 2048u);
  std::mutex mu;
  std::vector<std::pair<void *, unsigned>> queue[kFreers];
  std::atomic<bool> done{false};
  std::atomic<long> remote_bad{0}, remote_freed{0};

  std::vector<std::thread> freers;
  for (int f = 0; f < kFreers; f++) {
    freers.emplace_back([&, f] {
      for (;;) {
        std::vector<std::pair<void *, unsigned>> batch;
        {
          std::lock_guard<std::mutex> g(mu);
          batch.swap(queue[f]);
        }
        if (batch.empty()) {
          if (done.load()) {
            std::lock_guard<std::mutex> g(mu);
            if (queue[f].empty()) return;
            continue;
          }
          std::this_thread::yield();
          continue;
        }
        for (auto &[p, size] : batch) {
          if (!StampOk(p, size)) remote_bad++;
          if (!hkt_free_remote(p)) remote_bad++;
          remote_freed++;
        }
      }
    });
  }

  std::set<void *> held_set;
  std::vector<std::pair<void *, unsigned>> held;
  uint64_t rng = 88172645463325252ull;
  auto next = [&] {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  };
  long handed = 0;
  // The owner's loop runs in a lambda so that a failed ASSERT still lets the
  // freers finish and be joined.
  auto owner_loop = [&] {
    for (int round = 0; round < kRounds; round++) {
      unsigned cls = classes[next() % 4];
      unsigned size = hkt_class_size(cls);
      std::vector<void *> got = Refill(o, cls, 1 + next() % 16);
      ASSERT_FALSE(got.empty());
      for (void *p : got) {
        ASSERT_TRUE(held_set.insert(p).second) << "block handed out twice: " << p;
        Stamp(p, size);
        held.emplace_back(p, size);
      }
      // Free some locally, hand some to the remote freers.
      while (held.size() > 64) {
        size_t i = next() % held.size();
        auto [p, sz] = held[i];
        held[i] = held.back();
        held.pop_back();
        held_set.erase(p);
        ASSERT_TRUE(StampOk(p, sz)) << "corrupted block " << p;
        if (next() % 2) {
          ASSERT_TRUE(hkt_free_local(o, p)) << p;
        } else {
          std::lock_guard<std::mutex> g(mu);
          queue[handed++ % kFreers].emplace_back(p, sz);
        }
      }
    }
  };
  owner_loop();
  done = true;
  for (auto &t : freers) t.join();
  if (HasFatalFailure()) return;
  EXPECT_EQ(remote_bad.load(), 0);
  EXPECT_EQ(remote_freed.load(), handed);
  for (auto &[p, sz] : held) {
    ASSERT_TRUE(StampOk(p, sz)) << "corrupted block " << p;
    ASSERT_TRUE(hkt_free_local(o, p)) << p;
  }
  // Every block is back (some still in remote queues): the release drains
  // them and returns every slab; none may be abandoned.
  hkt_owner_release_all(o);
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.slabs_abandoned, 0u) << "used counts did not come back to zero";
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(hkt_check(), 0);
}

// ---- abandonment and adoption --------------------------------------------------

TEST_F(SegmentTest, AbandonedSlabIsAdoptedByAnotherOwner) {
  hkt_owner *a = NewOwner();
  hkt_owner *b = NewOwner();
  std::vector<void *> old = Refill(a, kC256, 10);
  ASSERT_EQ(old.size(), 10u);
  void *slab = SlabBase(old[0]);
  for (void *p : old) Stamp(p, 256);

  // Thread exit with live blocks: the slab is abandoned (ACTIVE, no owner).
  hkt_owner_release_all(a);
  hkt_slab_info_t in = Info(slab);
  EXPECT_EQ(in.state, unsigned{HKT_SLAB_ACTIVE});
  EXPECT_EQ(in.list, unsigned{HKT_LIST_ABANDONED});
  EXPECT_EQ(in.owner, 0u);
  EXPECT_EQ(in.used, 10u);
  EXPECT_EQ(hkt_owner_nslabs(a, kC256), 0u);
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.slabs_abandoned, 1u);
  EXPECT_EQ(st.slabs_active, 1u);
  EXPECT_EQ(hkt_check(), 0);
  // Its owner is gone: a local free by the old owner is refused by the helper
  // (the slab is not a's any more), frees must go through the remote queue.
  EXPECT_FALSE(hkt_free_local(a, old[9]));
  std::set<void *> remote = {old[0], old[1], old[2]};
  for (void *p : remote) ASSERT_TRUE(hkt_free_remote(p));

  // Another owner's refill of the class adopts it, draining the remote frees
  // first, then carving fresh blocks.
  std::vector<void *> got = Refill(b, kC256, 5);
  ASSERT_EQ(got.size(), 5u);
  st = Stats();
  EXPECT_EQ(st.slabs_adopted, adopted0_ + 1);
  EXPECT_EQ(st.slabs_abandoned, 0u);
  EXPECT_EQ(st.slabs_active, 1u);
  in = Info(slab);
  EXPECT_EQ(in.owner, hkt_owner_token(b));
  EXPECT_NE(in.list, unsigned{HKT_LIST_ABANDONED});
  EXPECT_EQ(in.used, 10u - 3u + 5u);
  EXPECT_EQ(in.carved, 12u);
  EXPECT_FALSE(in.remote_pending);
  int from_remote = 0;
  for (void *p : got) {
    EXPECT_EQ(SlabBase(p), slab);
    from_remote += static_cast<int>(remote.count(p));
  }
  EXPECT_EQ(from_remote, 3);
  EXPECT_EQ(hkt_owner_current(b, kC256), slab);

  // The old owner's surviving blocks kept their contents and are now freed
  // locally by the adopter.
  for (size_t i = 3; i < old.size(); i++) {
    EXPECT_TRUE(StampOk(old[i], 256)) << old[i];
    ASSERT_TRUE(hkt_free_local(b, old[i])) << old[i];
  }
  FreeAll(b, got);
  EXPECT_EQ(Info(slab).used, 0u);
  hkt_owner_release_all(b);
  st = Stats();
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(st.slabs_abandoned, 0u);
}

TEST_F(SegmentTest, AdoptionAcrossThreads) {
  // Owner A lives on one thread and exits with live blocks; B, on another
  // thread, adopts the slabs of every class A used; the main thread frees
  // A's blocks remotely in between.
  constexpr unsigned kCls[] = {kC64, kC512, kC3072};
  ASSERT_EQ(hkt_class_size(kC3072), 3072u);
  ASSERT_GE(hkt_class_capacity(kC3072), 20u);
  std::vector<void *> a_blocks[3];
  std::thread ta([&] {
    hkt_owner *a = hkt_owner_new();
    for (int k = 0; k < 3; k++) {
      a_blocks[k].resize(20);
      uint32_t n = hkt_refill(a, kCls[k], 20, a_blocks[k].data());
      a_blocks[k].resize(n == UINT32_MAX ? 0 : n);
    }
    hkt_owner_delete(a);
  });
  ta.join();
  for (int k = 0; k < 3; k++) ASSERT_EQ(a_blocks[k].size(), 20u);
  EXPECT_EQ(Stats().slabs_abandoned, 3u);
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 10; i++) ASSERT_TRUE(hkt_free_remote(a_blocks[k][i]));
  }
  std::thread tb([&] {
    hkt_owner *b = hkt_owner_new();
    for (int k = 0; k < 3; k++) {
      void *one;
      ASSERT_EQ(hkt_refill(b, kCls[k], 1, &one), 1u);
      EXPECT_EQ(SlabBase(one), SlabBase(a_blocks[k][0]));
      for (int i = 10; i < 20; i++) ASSERT_TRUE(hkt_free_local(b, a_blocks[k][i]));
      ASSERT_TRUE(hkt_free_local(b, one));
    }
    hkt_owner_delete(b);
  });
  tb.join();
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.slabs_adopted, adopted0_ + 3);
  EXPECT_EQ(st.slabs_abandoned, 0u);
  EXPECT_EQ(st.slabs_active, 0u);
}

TEST_F(SegmentTest, TrimReclaimsAbandonedSlabsWhoseBlocksCameBack) {
  hkt_owner *a = NewOwner();
  std::vector<void *> v = Refill(a, kC512, 6);
  ASSERT_EQ(v.size(), 6u);
  hkt_owner_release_all(a);
  ASSERT_EQ(Stats().slabs_abandoned, 1u);
  for (size_t i = 0; i < 5; i++) ASSERT_TRUE(hkt_free_remote(v[i]));
  hkt_trim();  // one block still out: stays abandoned
  EXPECT_EQ(Stats().slabs_abandoned, 1u);
  EXPECT_EQ(Stats().superslabs_live, 1u);
  EXPECT_EQ(hkt_check(), 0);
  ASSERT_TRUE(hkt_free_remote(v[5]));
  hkt_trim();
  hkt_seg_stats_t st = Stats();
  EXPECT_EQ(st.slabs_abandoned, 0u);
  EXPECT_EQ(st.slabs_active, 0u);
  EXPECT_EQ(st.superslabs_live, 0u);
}

// ---- misuse is reported, not absorbed ---------------------------------------------

// Death tests use gtest's default "fast" style (fork, no re-exec: re-exec
// does not work under qemu-user); no other thread is alive at that point.
using SegmentDeathTest = SegmentTest;

TEST_F(SegmentDeathTest, OverFreeOfASlabIsFatal) {
  EXPECT_DEATH(
      {
        hkt_owner *o = hkt_owner_new();
        void *p[2];
        hkt_refill(o, kC64, 2, p);
        hkt_free_local(o, p[0]);
        hkt_free_local(o, p[1]);
        hkt_free_local(o, p[1]);  // the slab has no block out any more
      },
      "hakmem: free\\(\\): pointer 0x[0-9a-f]+: .*double free");
}

TEST_F(SegmentDeathTest, RemoteDoubleFreeIntoABatchIsFatal) {
  hkt_owner *o = NewOwner();
  std::vector<void *> a = Refill(o, kC64, 2);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_DEATH(
      {
        hkt_batch_free(a[1]);
        hkt_batch_free(a[1]);
      },
      "double free of 0x[0-9a-f]+ by another thread \\(block size 64, slab 0x[0-9a-f]+\\)");
  FreeAll(o, a);
}

TEST_F(SegmentDeathTest, MoreRemoteFreesThanBlocksInUseIsFatal) {
  EXPECT_DEATH(
      {
        hkt_owner *o = hkt_owner_new();
        void *p[3];
        hkt_refill(o, kC64, 3, p);
        hkt_free_local(o, p[0]);  // two blocks left in use
        hkt_free_remote(p[0]);    // ... but three come back remotely
        hkt_free_remote(p[1]);
        hkt_free_remote(p[2]);
        void *q;
        hkt_refill(o, kC64, 1, &q);
      },
      "hakmem: segment: slab 0x[0-9a-f]+ .*double free");
}

// The consistency walk finds a block that is in two places (the slab's free
// list and its remote queue); in a forked child, so the damage stays there.
TEST_F(SegmentDeathTest, ConsistencyWalkFindsABlockInTwoPlaces) {
  EXPECT_EXIT(
      {
        hkt_owner *o = hkt_owner_new();
        void *p[3];
        hkt_refill(o, kC64, 3, p);
        if (hkt_check() != 0) _exit(1);  // sound so far
        hkt_free_local(o, p[0]);
        hkt_free_remote(p[0]);  // the same block again, by "another thread"
        _exit(hkt_check() > 0 ? 3 : 0);
      },
      ::testing::ExitedWithCode(3),
      "hakmem: check: slab 0x[0-9a-f]+: block 0x[0-9a-f]+ is twice on its lists \\(second time on the "
      "remote queue\\)");
}

}  // namespace
