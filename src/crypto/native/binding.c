/*
 * Batch verification of ed25519 signatures for bft-ledger, on ed25519-donna (public domain,
 * Andrew Moon; vendored unchanged in ./donna). Why and what rule: docs/crypto.md.
 *
 * The addon decides ONLY rule 5 of the node's validity rule, the cofactored equation
 *   [8]([S]B - R - [k]A) = O,  k = SHA-512(R || A || M) mod L,
 * for inputs the caller has already prechecked (rules 1-4: lengths, S < L, canonical and not
 * small-order A and R, A torsion-free). A batch checks one random linear combination of the
 * equations (Bernstein et al., "High-speed high-security signatures", section 5), multiplied by
 * the cofactor: with the cofactor, the combination is zero for every batch whose members each
 * satisfy the equation, and (with probability 1 - 2^-125 per batch, over the random 128-bit
 * coefficients) for no batch with a member that does not. Without the cofactor a signature
 * whose R carries a small-order component could pass or fail depending on the coefficients and
 * on which other signatures share its batch, and validators would disagree about it.
 */
#include <node_api.h>
#include <stdlib.h>
#include <openssl/rand.h>

#define ED25519_SUFFIX _bft
#include "ed25519.c"

/* Most signatures one call takes: a bound on what a caller can make us allocate. */
#define MAX_SIGNATURES (1u << 20)

/* Counters for tests: combined checks run, and how many of them failed (then one by one). */
static double stat_batches = 0, stat_fallbacks = 0;

/* One signature, cofactored: 1 valid, 0 not. */
static int verify_one (const unsigned char *m, size_t mlen, const unsigned char *pk, const unsigned char *RS) {
  ge25519 ALIGN(16) negA, negR, P, D;
  hash_512bits hash;
  bignum256modm k, S;
  if ((RS[63] & 224) != 0) return 0;
  if (!ge25519_unpack_negative_vartime(&negA, pk) || !ge25519_unpack_negative_vartime(&negR, RS)) return 0;
  ed25519_hram(hash, RS, pk, m, mlen);
  expand256_modm(k, hash, 64);
  expand256_modm(S, RS + 32, 32);
  /* P = [S]B + [k](-A), in partial coordinates (no T): donna's double-scalar multiplication
     skips T because its own caller only encodes P. Doubling reads X, Y, Z only and returns full
     coordinates, so D = [2]P + [2](-R) = [2](P - R), then two more doublings give [8](P - R). */
  ge25519_double_scalarmult_vartime(&P, &negA, k, S);
  ge25519_double(&P, &P);
  ge25519_double(&negR, &negR);
  ge25519_add(&D, &P, &negR);
  ge25519_double(&D, &D);
  ge25519_double(&D, &D);
  return ge25519_is_neutral_vartime(&D);
}

/*
 * donna's ed25519_sign_open_batch with the cofactor applied to the combination and
 * verify_one for chunks of 3 or fewer and for the members of a chunk that fails.
 */
static void verify_batch (const unsigned char **m, size_t *mlen, const unsigned char **pk, const unsigned char **RS, size_t num, unsigned char *valid) {
  batch_heap ALIGN(16) batch;
  ge25519 ALIGN(16) p;
  bignum256modm *r_scalars;
  size_t i, batchsize;
  unsigned char hram[64];
  int fallback;

  while (num > 3) {
    batchsize = (num > max_batch_size) ? max_batch_size : num;
    fallback = 0;
    for (i = 0; i < batchsize; i++) if ((RS[i][63] & 224) != 0) fallback = 1;
    /* The coefficients must be secret and fresh: without them (RAND_bytes failed), one by one. */
    if (!fallback && RAND_bytes((unsigned char *)batch.r, (int)(batchsize * 16)) != 1) fallback = 1;
    if (!fallback) {
      r_scalars = &batch.scalars[batchsize + 1];
      for (i = 0; i < batchsize; i++) expand256_modm(r_scalars[i], batch.r[i], 16);
      /* scalars[0] = sum r_i S_i (for B) */
      for (i = 0; i < batchsize; i++) {
        expand256_modm(batch.scalars[i], RS[i] + 32, 32);
        mul256_modm(batch.scalars[i], batch.scalars[i], r_scalars[i]);
      }
      for (i = 1; i < batchsize; i++) add256_modm(batch.scalars[0], batch.scalars[0], batch.scalars[i]);
      /* scalars[1..n] = r_i k_i (for -A_i); scalars[n+1..2n] = r_i (for -R_i) */
      for (i = 0; i < batchsize; i++) {
        ed25519_hram(hram, RS[i], pk[i], m[i], mlen[i]);
        expand256_modm(batch.scalars[i + 1], hram, 64);
        mul256_modm(batch.scalars[i + 1], batch.scalars[i + 1], r_scalars[i]);
      }
      batch.points[0] = ge25519_basepoint;
      for (i = 0; i < batchsize && !fallback; i++) if (!ge25519_unpack_negative_vartime(&batch.points[i + 1], pk[i])) fallback = 1;
      for (i = 0; i < batchsize && !fallback; i++) if (!ge25519_unpack_negative_vartime(&batch.points[batchsize + i + 1], RS[i])) fallback = 1;
      if (!fallback) {
        ge25519_multi_scalarmult_vartime(&p, &batch, (batchsize * 2) + 1);
        ge25519_double(&p, &p);
        ge25519_double(&p, &p);
        ge25519_double(&p, &p);
        stat_batches++;
        if (!ge25519_is_neutral_vartime(&p)) { fallback = 1; stat_fallbacks++; }
      }
    }
    for (i = 0; i < batchsize; i++) valid[i] = fallback ? (unsigned char)verify_one(m[i], mlen[i], pk[i], RS[i]) : 1;
    m += batchsize; mlen += batchsize; pk += batchsize; RS += batchsize; valid += batchsize; num -= batchsize;
  }
  for (i = 0; i < num; i++) valid[i] = (unsigned char)verify_one(m[i], mlen[i], pk[i], RS[i]);
}

static int bytes_at (napi_env env, napi_value arr, uint32_t i, const unsigned char **p, size_t *len) {
  napi_value v;
  napi_typedarray_type t;
  void *data;
  napi_value ab;
  size_t off;
  if (napi_get_element(env, arr, i, &v) != napi_ok) return 0;
  if (napi_get_typedarray_info(env, v, &t, len, &data, &ab, &off) != napi_ok || t != napi_uint8_array) return 0;
  *p = data;
  return 1;
}

/*
 * verify(signatures: Uint8Array[], messages: Uint8Array[], publicKeys: Uint8Array[]): Uint8Array
 * One byte per signature: 1 when the cofactored equation holds, 0 when it does not or the
 * entry is not a 64-byte signature, a Uint8Array message and a 32-byte key. Throws TypeError
 * when the three arguments are not arrays of one length.
 */
static napi_value js_verify (napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out_ab, result;
  uint32_t n = 0, n1 = 0, n2 = 0, i, k = 0;
  bool is_array;
  void *out_data;
  unsigned char *out;
  const unsigned char **mp, **pkp, **sp;
  size_t *ml, *idx;
  unsigned char *valid;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, "ERR_BAD_ARGUMENT", "verify(signatures, messages, publicKeys) takes three arrays");
    return NULL;
  }
  for (i = 0; i < 3; i++) {
    if (napi_is_array(env, argv[i], &is_array) != napi_ok || !is_array) {
      napi_throw_type_error(env, "ERR_BAD_ARGUMENT", "verify(signatures, messages, publicKeys) takes three arrays");
      return NULL;
    }
  }
  napi_get_array_length(env, argv[0], &n);
  napi_get_array_length(env, argv[1], &n1);
  napi_get_array_length(env, argv[2], &n2);
  if (n != n1 || n != n2) {
    napi_throw_type_error(env, "ERR_BAD_ARGUMENT", "verify: signatures, messages and publicKeys differ in length");
    return NULL;
  }
  if (n > MAX_SIGNATURES) {
    napi_throw_range_error(env, "ERR_BAD_ARGUMENT", "verify: more than 2^20 signatures in one call");
    return NULL;
  }
  if (napi_create_arraybuffer(env, n, &out_data, &out_ab) != napi_ok) return NULL;
  out = out_data;
  mp = malloc(sizeof(*mp) * (n + 1));
  pkp = malloc(sizeof(*pkp) * (n + 1));
  sp = malloc(sizeof(*sp) * (n + 1));
  ml = malloc(sizeof(*ml) * (n + 1));
  idx = malloc(sizeof(*idx) * (n + 1));
  valid = malloc(n + 1);
  if (mp == NULL || pkp == NULL || sp == NULL || ml == NULL || idx == NULL || valid == NULL) {
    free(mp); free(pkp); free(sp); free(ml); free(idx); free(valid);
    napi_throw_error(env, "ERR_NO_MEMORY", "verify: out of memory");
    return NULL;
  }
  for (i = 0; i < n; i++) {
    size_t sl, pl;
    out[i] = 0;
    if (bytes_at(env, argv[0], i, &sp[k], &sl) && bytes_at(env, argv[1], i, &mp[k], &ml[k]) && bytes_at(env, argv[2], i, &pkp[k], &pl) && sl == 64 && pl == 32) idx[k++] = i;
  }
  if (k > 0) verify_batch(mp, ml, pkp, sp, k, valid);
  for (i = 0; i < k; i++) out[idx[i]] = valid[i];
  free(mp); free(pkp); free(sp); free(ml); free(idx); free(valid);
  if (napi_create_typedarray(env, napi_uint8_array, n, out_ab, 0, &result) != napi_ok) return NULL;
  return result;
}

/* stats(): { batches, fallbacks } since load: combined checks run, and those that failed. */
static napi_value js_stats (napi_env env, napi_callback_info info) {
  napi_value out, b, f;
  (void)info;
  if (napi_create_object(env, &out) != napi_ok || napi_create_double(env, stat_batches, &b) != napi_ok || napi_create_double(env, stat_fallbacks, &f) != napi_ok) return NULL;
  napi_set_named_property(env, out, "batches", b);
  napi_set_named_property(env, out, "fallbacks", f);
  return out;
}

NAPI_MODULE_INIT () {
  napi_value fn, st;
  if (napi_create_function(env, "verify", NAPI_AUTO_LENGTH, js_verify, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "verify", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "stats", NAPI_AUTO_LENGTH, js_stats, NULL, &st) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "stats", st) != napi_ok) return NULL;
  return exports;
}
