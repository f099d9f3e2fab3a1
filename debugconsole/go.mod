module xaa.example/debugconsole

go 1.26.0

replace xaa.example/shared => ../shared

require github.com/a-h/templ v0.3.977

require github.com/google/go-cmp v0.7.0 // indirect
