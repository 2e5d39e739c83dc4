#include "textflag.h"

// func ud()
TEXT ·ud(SB), NOSPLIT, $0-0
	WORD $0x00000000 // UDF #0
	RET
