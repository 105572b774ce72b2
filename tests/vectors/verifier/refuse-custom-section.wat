;; A custom section (a name section): release artifacts carry none.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse shape
(module binary
  "\00asm\01\00\00\00"
  "\01\06\01\60\01\7f\01\7f"
  "\03\02\01\00"
  "\07\07\01\03run\00\00"
  "\0a\06\01\04\00\41\00\0b"
  "\00\05\04name")
