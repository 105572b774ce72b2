;; A block of type i64 (the body is otherwise fine): block types are none, i32 or f32.
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
  "\0a\0b\01\09\00\02\7e\00\0b\1a\41\00\0b")
