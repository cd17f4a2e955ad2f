{
  "targets": [
    {
      "target_name": "bft_ed25519",
      "sources": ["src/crypto/native/binding.c"],
      "include_dirs": ["src/crypto/native/donna"],
      "cflags": ["-O3", "-Wno-deprecated-declarations", "-Wno-unused-function"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3", "-Wno-deprecated-declarations", "-Wno-unused-function"] }
    }
  ]
}
