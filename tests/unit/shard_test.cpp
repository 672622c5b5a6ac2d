// Sharding: the documented hash, a partition of the probes, and the flags.
#include "exporter/shard.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace triage {
namespace {

// Pinned: a change of the hash would move probes between replicas on upgrade.
TEST(ShardTest, HashIsFnv1aOverServiceZeroByteProbe) {
  EXPECT_EQ(ShardHash("", ""), 12638153115695167455ull);  // FNV-1a 64 of one zero byte
  EXPECT_EQ(ShardHash("echo", "api"), 8108363170524079108ull);
  EXPECT_NE(ShardHash("ab", "c"), ShardHash("a", "bc")) << "the zero byte keeps the names apart";
}

TEST(ShardTest, EveryProbeBelongsToExactlyOneShardAndTheyAreEven) {
  constexpr int kShards = 3, kProbes = 3000;
  std::vector<int> per(kShards, 0);
  for (int p = 0; p < kProbes; ++p) {
    int owners = 0;
    for (int i = 0; i < kShards; ++i) {
      if (Shard{i, kShards}.Owns("svc", "probe-" + std::to_string(p))) {
        ++owners;
        ++per[i];
      }
    }
    ASSERT_EQ(owners, 1) << "probe-" << p;
  }
  for (int i = 0; i < kShards; ++i) {
    EXPECT_GT(per[i], kProbes / kShards * 8 / 10) << "shard " << i;
    EXPECT_LT(per[i], kProbes / kShards * 12 / 10) << "shard " << i;
  }
  EXPECT_TRUE(Shard{}.Owns("any", "probe")) << "one shard runs everything";
}

TEST(ShardTest, FlagsAndTheStatefulSetHostName) {
  Shard s;
  EXPECT_EQ(ParseShard("2", "3", "", &s), "");
  EXPECT_EQ(s.index, 2);
  EXPECT_EQ(s.count, 3);
  EXPECT_EQ(ParseShard("hostname", "4", "triage-exporter-3", &s), "");
  EXPECT_EQ(s.index, 3);
  EXPECT_NE(ParseShard("hostname", "4", "triage-exporter", &s).find("-<number>"), std::string::npos);
  EXPECT_NE(ParseShard("3", "3", "", &s).find("outside 0..2"), std::string::npos);
  EXPECT_NE(ParseShard("hostname", "3", "web-7", &s).find("outside 0..2"), std::string::npos);
  EXPECT_NE(ParseShard("x", "3", "", &s).find("--shard.index"), std::string::npos);
  EXPECT_NE(ParseShard("0", "0", "", &s).find("--shard.count"), std::string::npos);
  EXPECT_NE(ParseShard("-1", "3", "", &s).find("outside"), std::string::npos);
}

}  // namespace
}  // namespace triage
