// tests/archive/test_h5.cpp — the HDF5 wrappers: round trips of every type,
// nested groups, unicode/empty strings, ragged arrays, tables, atomic
// create/commit, error codes and messages, and reading a file written by h5py.
// The reverse direction (h5py reads what relapse writes) is checked by
// tests/golden/check_h5_readable.py on the file of H5Sample.WriteReadBack.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "relapse/archive/h5.h"
#include "relapse/core/error.h"
#include "test_util.h"

using relapse::test::expect_error;

namespace relapse::archive {
namespace {

namespace fs = std::filesystem;

// Bitwise equality, so NaN payloads, -0.0 and denormals must survive exactly.
template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

const std::string kUnicode = "Grüße, 日本語, 🙂 — ∑";

TEST(H5, NumericRoundTrip) {
  std::string path = test::scratch_dir("h5") + "/num.h5";
  const float fnan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> f32{1.5f,
                         -0.0f,
                         fnan,
                         std::numeric_limits<float>::infinity(),
                         std::numeric_limits<float>::denorm_min(),
                         3.0e-8f};
  std::vector<double> f64{M_PI, -1e300, std::numeric_limits<double>::denorm_min(), 0.1};
  std::vector<int64_t> i64{std::numeric_limits<int64_t>::min(), -1, 0,
                           std::numeric_limits<int64_t>::max()};
  std::vector<int32_t> i32{std::numeric_limits<int32_t>::min(), 7,
                           std::numeric_limits<int32_t>::max()};
  std::vector<float> m23{1, 2, 3, 4, 5, 6};
  std::vector<int32_t> m32{1, 2, 3, 4, 5, 6};
  {
    H5File f = H5File::create(path);
    H5Group r = f.root();
    r.write("f32", f32);
    r.write("f64", f64);
    r.write("i64", i64);
    r.write("i32", i32);
    r.write("m23", m23, 2, 3);
    r.write("m32", m32, 3, 2);
    r.write("m_f64", f64, 2, 2);
    r.write("m_i64", i64, 1, 4);
    r.write("empty", std::vector<float>{});
    r.write("empty2d", std::vector<double>{}, 0, 5);
    r.write("deep/er/x", i32);  // parents created
    r.write("replaced", std::vector<double>{1, 2, 3});
    r.write("replaced", std::vector<int64_t>{9});  // replaces, new type and shape
    f.commit();
  }
  H5File f = H5File::open_read(path);
  H5Group r = f.root();
  EXPECT_TRUE(same_bits(r.read_floats("f32"), f32));
  EXPECT_TRUE(same_bits(r.read_doubles("f64"), f64));
  EXPECT_EQ(r.read_int64s("i64"), i64);
  EXPECT_EQ(r.read_int32s("i32"), i32);
  EXPECT_EQ(r.read_floats("m23"), m23);
  EXPECT_EQ(r.read_int32s("m32"), m32);
  EXPECT_EQ(r.shape("f32"), (std::vector<int64_t>{6}));
  EXPECT_EQ(r.shape("m23"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(r.shape("m32"), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(r.shape("m_i64"), (std::vector<int64_t>{1, 4}));
  EXPECT_TRUE(same_bits(r.read_doubles("m_f64"), f64));
  EXPECT_TRUE(r.read_floats("empty").empty());
  EXPECT_EQ(r.shape("empty"), (std::vector<int64_t>{0}));
  EXPECT_EQ(r.shape("empty2d"), (std::vector<int64_t>{0, 5}));
  EXPECT_EQ(r.read_int32s("deep/er/x"), i32);
  EXPECT_TRUE(r.is_group("deep/er"));
  EXPECT_EQ(r.read_int64s("replaced"), (std::vector<int64_t>{9}));
  // HDF5 converts widths within a class: int32 data read as int64, f64 as f32.
  EXPECT_EQ(r.read_int64s("i32"), std::vector<int64_t>(i32.begin(), i32.end()));
  EXPECT_EQ(r.read_floats("f64")[3], 0.1f);
  // ... but not across classes: a schema mix-up is an input error.
  expect_error([&] { r.read_floats("i64"); }, ExitCode::kInput, {"/i64", path, "integer"});
  expect_error([&] { r.read_int64s("f32"); }, ExitCode::kInput, {"/f32", path, "float"});
  // Sizes that do not fill the shape are a programming error.
  H5File g = H5File::create(test::scratch_dir("h5") + "/bad.h5");
  expect_error([&] { g.root().write("x", m23, 4, 2); }, ExitCode::kInternal, {"/x"});
}

TEST(H5, Attributes) {
  std::string path = test::scratch_dir("h5") + "/attr.h5";
  {
    H5File f = H5File::create(path);
    H5Group g = f.root().group("run");
    g.set_attr("d", 0.1);
    g.set_attr("i", std::numeric_limits<int64_t>::min());
    g.set_attr("small", 7);          // int
    g.set_attr("count", size_t{3});  // size_t
    g.set_attr("flag", true);
    g.set_attr("s", kUnicode);
    g.set_attr("empty_s", "");
    g.set_attr("vd", std::vector<double>{1.5, -2.0});
    g.set_attr("vd_empty", std::vector<double>{});
    g.set_attr("vs", std::vector<std::string>{"a", "", kUnicode});
    g.set_attr("over", 1.0);
    g.set_attr("over", "now a string");  // replaced
    f.root().set_attr("top", 42);
    f.commit();
  }
  H5File f = H5File::open_read(path);
  H5Group g = f.root().open_group("run");
  EXPECT_EQ(g.attr_double("d"), 0.1);
  EXPECT_EQ(g.attr_int("i"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(g.attr_int("small"), 7);
  EXPECT_EQ(g.attr_double("small"), 7.0);  // integers read as double
  EXPECT_EQ(g.attr_int("count"), 3);
  EXPECT_EQ(g.attr_int("flag"), 1);
  EXPECT_EQ(g.attr_string("s"), kUnicode);
  EXPECT_EQ(g.attr_string("empty_s"), "");
  EXPECT_EQ(g.attr_doubles("vd"), (std::vector<double>{1.5, -2.0}));
  EXPECT_TRUE(g.attr_doubles("vd_empty").empty());
  EXPECT_EQ(g.attr_strings("vs"), (std::vector<std::string>{"a", "", kUnicode}));
  EXPECT_EQ(g.attr_string("over"), "now a string");
  EXPECT_EQ(f.root().attr_int("top"), 42);
  EXPECT_TRUE(g.has_attr("d"));
  EXPECT_FALSE(g.has_attr("nope"));
  EXPECT_EQ(g.attr_names(), (std::vector<std::string>{"count", "d", "empty_s", "flag", "i", "over",
                                                      "s", "small", "vd", "vd_empty", "vs"}));
  expect_error([&] { g.attr_double("nope"); }, ExitCode::kInput, {"'nope'", "/run", path});
  expect_error([&] { g.attr_int("d"); }, ExitCode::kInput, {"'d'", "/run", path, "float"});
  expect_error([&] { g.attr_string("d"); }, ExitCode::kInput, {"'d'", "not strings"});
  expect_error([&] { g.attr_double("vd"); }, ExitCode::kInput, {"'vd'", "2 values"});
}

TEST(H5, NestedGroups) {
  std::string path = test::scratch_dir("h5") + "/groups.h5";
  {
    H5File f = H5File::create(path);
    H5Group r = f.root();
    H5Group c = r.group("a/b/c");
    EXPECT_EQ(c.path(), "/a/b/c");
    EXPECT_EQ(c.file_path(), path);
    c.write("x", std::vector<float>{1});
    H5Group b = r.group("a/b");  // opens the existing group
    EXPECT_EQ(b.children(), (std::vector<std::string>{"c"}));
    b.group("z");
    b.group("c").group("d");  // nested from a child handle
    r.group("a").write("ds", std::vector<int32_t>{1});
    expect_error([&] { r.group("a/ds/q"); }, ExitCode::kInput, {"/a/ds", "not a group", path});
    expect_error([&] { r.group("a//b"); }, ExitCode::kInternal, {"a//b"});
    expect_error([&] { r.group("/a"); }, ExitCode::kInternal, {"/a"});
    expect_error([&] { r.group(""); }, ExitCode::kInternal, {"name"});
    f.commit();
  }
  H5File f = H5File::open_read(path);
  H5Group r = f.root();
  EXPECT_EQ(r.path(), "/");
  EXPECT_TRUE(r.has("a"));
  EXPECT_TRUE(r.has("a/b/c/x"));
  EXPECT_TRUE(r.has("a/b/c/d"));
  EXPECT_FALSE(r.has("a/b/q"));
  EXPECT_FALSE(r.has("a/ds/q"));  // an intermediate dataset is "missing", not an error
  EXPECT_TRUE(r.is_group("a/b/z"));
  EXPECT_FALSE(r.is_group("a/ds"));
  EXPECT_EQ(r.children(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(r.open_group("a").children(), (std::vector<std::string>{"b", "ds"}));
  EXPECT_EQ(r.group("a/b").children(), (std::vector<std::string>{"c", "z"}));
  EXPECT_EQ(r.open_group("a/b/c").read_floats("x"), (std::vector<float>{1}));
  // Read-only: group() does not create.
  expect_error([&] { r.group("a/new"); }, ExitCode::kInput, {"/a/new", "not found", path});
  expect_error([&] { r.open_group("a/missing"); }, ExitCode::kInput, {"/a/missing", path});
  expect_error([&] { r.write("w", std::vector<float>{1}); }, ExitCode::kInternal, {"read-only"});
}

TEST(H5, Strings) {
  std::string path = test::scratch_dir("h5") + "/str.h5";
  std::vector<std::string> s{"", "plain", kUnicode, "", std::string(10000, 'x'), "tab\tnew\nline"};
  {
    H5File f = H5File::create(path);
    f.root().write_strings("gen", s);
    f.root().write_strings("none", {});
    f.root().write_strings("all_empty", {"", ""});
    expect_error([&] { f.root().write_strings("nul", {std::string("a\0b", 3)}); },
                 ExitCode::kInternal, {"NUL", "/nul"});
    f.commit();
  }
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.root().read_strings("gen"), s);
  EXPECT_EQ(f.root().shape("gen"), (std::vector<int64_t>{6}));
  EXPECT_TRUE(f.root().read_strings("none").empty());
  EXPECT_EQ(f.root().read_strings("all_empty"), (std::vector<std::string>{"", ""}));
  EXPECT_FALSE(f.root().has("nul"));
  expect_error([&] { f.root().read_floats("gen"); }, ExitCode::kInput, {"/gen", "string"});
}

TEST(H5, Ragged) {
  std::string path = test::scratch_dir("h5") + "/ragged.h5";
  std::vector<std::vector<float>> rows{{}, {-0.5f, -1.25f}, {}, {-3.0f}, {}, {1, 2, 3, 4}, {}};
  {
    H5File f = H5File::create(path);
    H5Group r = f.root();
    r.write_ragged("lp", rows);
    r.write_ragged("none", {});
    r.write_ragged("one_empty", {{}});
    H5Group bad = r.group("bad");  // hand-made broken layouts
    bad.group("dec").write("values", std::vector<float>{1, 2});
    bad.group("dec").write("offsets", std::vector<int64_t>{0, 2, 1, 2});
    bad.group("short").write("values", std::vector<float>{1, 2});
    bad.group("short").write("offsets", std::vector<int64_t>{0, 1});
    bad.group("nooff").write("values", std::vector<float>{1});
    f.commit();
  }
  H5File f = H5File::open_read(path);
  H5Group r = f.root();
  EXPECT_EQ(r.read_ragged("lp"), rows);
  // The documented layout, checked directly.
  EXPECT_EQ(r.read_floats("lp/values"), (std::vector<float>{-0.5f, -1.25f, -3.0f, 1, 2, 3, 4}));
  EXPECT_EQ(r.read_int64s("lp/offsets"), (std::vector<int64_t>{0, 0, 2, 2, 3, 3, 7, 7}));
  EXPECT_EQ(r.open_group("lp").attr_string("layout"), "ragged");
  EXPECT_TRUE(r.read_ragged("none").empty());
  EXPECT_EQ(r.read_int64s("none/offsets"), (std::vector<int64_t>{0}));
  EXPECT_EQ(r.read_ragged("one_empty"), (std::vector<std::vector<float>>{{}}));
  expect_error([&] { r.read_ragged("bad/dec"); }, ExitCode::kInput, {"/bad/dec", path, "offsets"});
  expect_error([&] { r.read_ragged("bad/short"); }, ExitCode::kInput, {"/bad/short", "offsets"});
  expect_error([&] { r.read_ragged("bad/nooff"); }, ExitCode::kInput, {"/bad/nooff/offsets", path});
  expect_error([&] { r.read_ragged("missing"); }, ExitCode::kInput, {"/missing", path});
}

TEST(H5, Table) {
  std::string path = test::scratch_dir("h5") + "/table.h5";
  std::vector<Column> cols{{"model", std::vector<std::string>{"target", kUnicode, ""}},
                           {"bits", std::vector<int64_t>{16, 4, 8}},
                           {"verbmem", std::vector<double>{0.58, 0.21, std::nan("")}}};
  {
    H5File f = H5File::create(path);
    f.root().write_table("summary", cols);
    f.root().write_table("empty", {{"a", std::vector<double>{}}});
    expect_error(
        [&] {
          f.root().write_table("t", {{"a", std::vector<double>{1}}, {"b", std::vector<int64_t>{}}});
        },
        ExitCode::kInternal, {"'b'", "/t"});
    expect_error(
        [&] {
          f.root().write_table("t", {{"a", std::vector<double>{1}}, {"a", std::vector<double>{2}}});
        },
        ExitCode::kInternal, {"'a'"});
    f.commit();
  }
  H5File f = H5File::open_read(path);
  auto back = f.root().read_table("summary");
  ASSERT_EQ(back.size(), 3u);  // stored order, not alphabetical
  EXPECT_EQ(back[0].name, "model");
  EXPECT_EQ(std::get<std::vector<std::string>>(back[0].values),
            std::get<std::vector<std::string>>(cols[0].values));
  EXPECT_EQ(back[1].name, "bits");
  EXPECT_EQ(std::get<std::vector<int64_t>>(back[1].values), (std::vector<int64_t>{16, 4, 8}));
  EXPECT_EQ(back[2].name, "verbmem");
  EXPECT_TRUE(same_bits(std::get<std::vector<double>>(back[2].values),
                        std::get<std::vector<double>>(cols[2].values)));
  H5Group t = f.root().open_group("summary");
  EXPECT_EQ(t.attr_strings("columns"), (std::vector<std::string>{"model", "bits", "verbmem"}));
  EXPECT_EQ(t.attr_int("nrows"), 3);
  EXPECT_EQ(t.attr_string("layout"), "table");
  auto e = f.root().read_table("empty");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].size(), 0u);
  expect_error([&] { f.root().read_table("nope"); }, ExitCode::kInput, {"/nope", path});
}

// A created file lives in memory until commit() writes it atomically
// (fs_write_file_atomic): nothing is on disk before, so a failed run leaves
// the old archive and no temporary; a full disk is tests/core/check_full_disk.sh.
TEST(H5, AtomicCreate) {
  std::string dir = test::scratch_dir("h5");
  std::string path = dir + "/a.h5", tmp = path + ".tmp";
  {
    H5File f = H5File::create(path);
    H5Group g = f.root().group("g");
    g.write("x", std::vector<float>{1, 2});
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(tmp));
    H5File moved = std::move(f);  // ownership moves too
    moved.commit();
    EXPECT_TRUE(fs::exists(path));
    EXPECT_FALSE(fs::exists(tmp));
    // Handles opened from a committed file are closed with it: a kRuntime
    // error, not a crash or a write into a closed file.
    expect_error([&] { g.write("y", std::vector<float>{1}); }, ExitCode::kRuntime, {"/g/y"});
  }
  EXPECT_EQ(H5File::open_read(path).root().read_floats("g/x"), (std::vector<float>{1, 2}));
  // A run that fails before commit leaves the old archive untouched and no .tmp.
  try {
    H5File f = H5File::create(path);
    f.root().write("x", std::vector<float>{3});
    throw std::runtime_error("stage failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_EQ(H5File::open_read(path).root().read_floats("g/x"), (std::vector<float>{1, 2}));
  // A stale .tmp of a crashed run is truncated, and commit replaces the old file.
  test::write_file(tmp, "garbage from a crashed run");
  {
    H5File f = H5File::create(path);
    f.root().write("x", std::vector<float>{3});
    f.commit();
  }
  EXPECT_FALSE(fs::exists(tmp));
  H5File r = H5File::open_read(path);
  EXPECT_FALSE(r.root().has("g"));
  EXPECT_EQ(r.root().read_floats("x"), (std::vector<float>{3}));
  // A missing directory is refused at create, before anything is computed.
  expect_error([&] { H5File::create(dir + "/no/such/dir/a.h5"); }, ExitCode::kInput,
               {dir + "/no/such/dir/a.h5", "no directory"});
}

TEST(H5, OpenErrorsNameFileAndObject) {
  std::string dir = test::scratch_dir("h5");
  expect_error([&] { H5File::open_read(dir + "/missing.h5"); }, ExitCode::kInput,
               {dir + "/missing.h5", "not found"});
  test::write_file(dir + "/text.h5", "this is not an HDF5 file\n");
  expect_error([&] { H5File::open_read(dir + "/text.h5"); }, ExitCode::kInput,
               {dir + "/text.h5", "HDF5", "signature"});  // HDF5's own reason is appended
  expect_error([&] { H5File::open_read(dir); }, ExitCode::kInput, {dir, "not a regular file"});
  {
    H5File f = H5File::create(dir + "/ok.h5");
    f.root().group("grp").write("ds", std::vector<double>{1});
    f.commit();
  }
  H5File f = H5File::open_read(dir + "/ok.h5");
  H5Group g = f.root().open_group("grp");
  expect_error([&] { g.read_doubles("nope"); }, ExitCode::kInput,
               {"/grp/nope", dir + "/ok.h5", "not found"});
  expect_error([&] { g.shape("nope/deeper"); }, ExitCode::kInput,
               {"/grp/nope/deeper", dir + "/ok.h5"});
  expect_error([&] { f.root().read_strings("grp"); }, ExitCode::kInput, {"/grp", "not a dataset"});
  expect_error([&] { g.read_strings("ds"); }, ExitCode::kInput, {"/grp/ds", "not strings"});
}

// Reads a file written by h5py (tests/golden/make_h5_fixture.py): an
// independent writer, including fixed-length strings relapse never writes.
TEST(H5, ReadsFileWrittenByH5py) {
  std::string path = test::fixture_path("h5py_written.h5");
  H5File f = H5File::open_read(path);
  H5Group r = f.root();
  EXPECT_EQ(r.attr_string("title"), "written by h5py");
  EXPECT_EQ(r.attr_int("version"), 3);
  EXPECT_EQ(r.attr_double("ratio"), 0.25);
  EXPECT_EQ(r.read_floats("f32"), (std::vector<float>{1.5f, -2.25f}));
  EXPECT_EQ(r.read_doubles("g/f64"), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r.shape("g/f64"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(r.read_int64s("i64"), (std::vector<int64_t>{-5, 0, 1LL << 40}));
  EXPECT_EQ(r.read_strings("vlen"), (std::vector<std::string>{"a", "", kUnicode}));
  EXPECT_EQ(r.read_strings("fixed"), (std::vector<std::string>{"ab", "", "abcd"}));
  EXPECT_EQ(r.attr_strings("names"), (std::vector<std::string>{"x", "yy"}));
}

// The sample tests/golden/check_h5_readable.py --expect-sample checks with
// h5py and pandas. Set RELAPSE_H5_SAMPLE_OUT=FILE to keep a copy.
TEST(H5Sample, WriteReadBack) {
  std::string path = test::scratch_dir("h5") + "/sample.h5";
  {
    H5File f = H5File::create(path);
    H5Group r = f.root();
    r.set_attr("title", "relapse h5 sample");
    r.set_attr("version", 1);
    r.set_attr("pi", M_PI);
    r.set_attr("ratios", std::vector<double>{0.5, 0.25});
    r.set_attr("tags", std::vector<std::string>{"x", kUnicode});
    H5Group d = r.group("data");
    d.write("f32", std::vector<float>{1.5f, -2.25f, 3.0e-8f});
    d.write("f64", std::vector<double>{1, 2, 3, 4, 5, 6}, 2, 3);
    d.write("i64", std::vector<int64_t>{std::numeric_limits<int64_t>::min(), 0,
                                        std::numeric_limits<int64_t>::max()});
    d.write("i32", std::vector<int32_t>{1, 2, 3, 4}, 2, 2);
    r.group("text").write_strings("gen", {"hello", "", kUnicode});
    r.write_ragged("logprobs", {{-0.5f, -1.25f}, {}, {-3.0f}});
    r.write_table("summary", {{"model", std::vector<std::string>{"target", "unlearned"}},
                              {"bits", std::vector<int64_t>{16, 4}},
                              {"forget_verbmem", std::vector<double>{0.58, 0.21}}});
    f.commit();
  }
  H5File f = H5File::open_read(path);
  EXPECT_EQ(f.root().children(), (std::vector<std::string>{"data", "logprobs", "summary", "text"}));
  EXPECT_EQ(f.root().read_strings("text/gen")[2], kUnicode);
  if (const char* out = std::getenv("RELAPSE_H5_SAMPLE_OUT")) {
    fs::copy_file(path, out, fs::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace relapse::archive
