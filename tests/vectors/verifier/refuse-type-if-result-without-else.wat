;; An if with a result needs an else.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse type
;; function: 0
(module binary
  "\00asm\01\00\00\00"
  "\01\06\01\60\01\7f\01\7f"
  "\03\02\01\00"
  "\07\07\01\03run\00\00"
  "\0a\0b\01\09\00\20\00\04\7f\41\01\0b\0b")
