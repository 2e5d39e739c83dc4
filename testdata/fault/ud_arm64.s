#include "textflag.h"

// func ud()
TEXT ·ud(SB), NOSPLIT, $0-0
	WORD $0x00000000 // UDF #0
	RET

// func mid()
TEXT ·mid(SB), NOSPLIT, $0-0
	MOVD $1, R1
	MOVD $16, R0
	MOVD (R0), R2 // faults at 0x10
	RET
