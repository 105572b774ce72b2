;; 300 locals (one group of 300): more than a host allocates for a function.
;; claim: 100
;; limit: 10000
;; float: yes
;; expect: refuse size
;; function: 0
(module binary
  "\00asm\01\00\00\00"
  "\01\06\01\60\01\7f\01\7f"
  "\03\02\01\00"
  "\07\07\01\03run\00\00"
  "\0a\09\01\07\01\ac\02\7f\41\00\0b")
