// The crypto primitives of the cloud connectors against published test vectors (FIPS 180-2,
// RFC 4231, RFC 4648) and an RS256 signature verified with the key's public half.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>

#include "kiln/connectors/crypto/digest.h"

namespace kiln::connectors {
namespace {

using ::testing::HasSubstr;

TEST(DigestTest, Sha256MatchesFips180Vectors) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(DigestTest, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(DigestTest, Base64AndBase64UrlFollowRfc4648) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Url("\xfb\xff"), "-_8");  // URL-safe alphabet, no padding
  EXPECT_EQ(Base64Url("fo"), "Zm8");
}

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

TEST(DigestTest, Rs256SignatureVerifiesWithThePublicHalf) {
  std::unique_ptr<EVP_PKEY, KeyFree> key(EVP_RSA_gen(2048));
  ASSERT_TRUE(key);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, key.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* pem_data = nullptr;
  const long pem_size = BIO_get_mem_data(bio, &pem_data);
  const std::string pem(pem_data, static_cast<size_t>(pem_size));
  BIO_free(bio);

  const std::string message = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrIn0";
  const std::string signature = RsaSha256Sign(pem, message);
  EXPECT_EQ(signature.size(), 256u);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size()),
            1);
  EVP_MD_CTX_free(ctx);
}

TEST(DigestTest, AnUnreadableKeyIsAClearErrorWithoutTheKey) {
  try {
    RsaSha256Sign("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n", "x");
    FAIL();
  } catch (const CryptoError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the private key is not a PEM RSA key OpenSSL can read"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("not a key")));
  }
}

}  // namespace
}  // namespace kiln::connectors
