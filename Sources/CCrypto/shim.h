// SHA-256 and HMAC-SHA256 from the system's OpenSSL libcrypto (libssl-dev), the only calls the report needs:
// input files' digests and shard parts' seals. Wrapped here so Swift sees four plain functions.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>

/// A SHA-256 digest in progress; NULL when OpenSSL could not make one.
static inline void *inferline_sha256_begin(void) {
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  if (context != NULL && EVP_DigestInit_ex(context, EVP_sha256(), NULL) != 1) {
    EVP_MD_CTX_free(context);
    return NULL;
  }
  return context;
}

static inline int inferline_sha256_update(void *context, const void *bytes, size_t count) {
  return EVP_DigestUpdate((EVP_MD_CTX *)context, bytes, count);
}

/// Writes the 32-byte digest and frees the context; 1 on success.
static inline int inferline_sha256_end(void *context, unsigned char *digest) {
  unsigned int length = 0;
  int ok = EVP_DigestFinal_ex((EVP_MD_CTX *)context, digest, &length);
  EVP_MD_CTX_free((EVP_MD_CTX *)context);
  return ok == 1 && length == 32;
}

/// Frees a digest in progress without finishing it.
static inline void inferline_sha256_discard(void *context) { EVP_MD_CTX_free((EVP_MD_CTX *)context); }

/// HMAC-SHA256 of `count` bytes under `key`: writes 32 bytes; 1 on success.
static inline int inferline_hmac_sha256(
    const void *key, int keyLength, const unsigned char *bytes, size_t count, unsigned char *code) {
  unsigned int length = 0;
  return HMAC(EVP_sha256(), key, keyLength, bytes, count, code, &length) != NULL && length == 32;
}
