#include "cmpi.h"

MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Comm cmpi_comm_null(void) { return MPI_COMM_NULL; }
MPI_Info cmpi_info_null(void) { return MPI_INFO_NULL; }
MPI_Win cmpi_win_null(void) { return MPI_WIN_NULL; }
MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }
MPI_Message cmpi_message_null(void) { return MPI_MESSAGE_NULL; }
MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
MPI_Errhandler cmpi_errors_are_fatal(void) { return MPI_ERRORS_ARE_FATAL; }
MPI_Status *cmpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
MPI_Status *cmpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
MPI_Datatype cmpi_datatype_null(void) { return MPI_DATATYPE_NULL; }

MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
void *cmpi_in_place(void) { return MPI_IN_PLACE; }
MPI_Datatype cmpi_char(void) { return MPI_CHAR; }
MPI_Datatype cmpi_int32(void) { return MPI_INT32_T; }
MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }
MPI_Datatype cmpi_uint64(void) { return MPI_UINT64_T; }
MPI_Datatype cmpi_float(void) { return MPI_FLOAT; }
MPI_Datatype cmpi_double(void) { return MPI_DOUBLE; }

MPI_Op cmpi_op_sum(void) { return MPI_SUM; }
MPI_Op cmpi_op_max(void) { return MPI_MAX; }
MPI_Op cmpi_op_min(void) { return MPI_MIN; }
MPI_Op cmpi_op_band(void) { return MPI_BAND; }
MPI_Op cmpi_op_bor(void) { return MPI_BOR; }
MPI_Op cmpi_op_bxor(void) { return MPI_BXOR; }

int cmpi_any_source(void) { return MPI_ANY_SOURCE; }
int cmpi_any_tag(void) { return MPI_ANY_TAG; }
