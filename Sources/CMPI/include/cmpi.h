// CMPI: the handles and constants of mpi.h that Swift cannot import.
// Open MPI defines MPI_COMM_WORLD, MPI_BYTE, MPI_INFO_NULL, ... as macros that
// take the address of library globals; these functions return them as values.
#ifndef CMPI_H
#define CMPI_H

#include <mpi/mpi.h>

MPI_Comm cmpi_comm_world(void);
MPI_Comm cmpi_comm_null(void);
MPI_Info cmpi_info_null(void);
MPI_Win cmpi_win_null(void);
MPI_Request cmpi_request_null(void);
MPI_Message cmpi_message_null(void);
MPI_Errhandler cmpi_errors_return(void);
MPI_Errhandler cmpi_errors_are_fatal(void);
MPI_Status *cmpi_status_ignore(void);
MPI_Status *cmpi_statuses_ignore(void);
MPI_Datatype cmpi_datatype_null(void);
void *cmpi_in_place(void);

MPI_Datatype cmpi_byte(void);
MPI_Datatype cmpi_char(void);
MPI_Datatype cmpi_int32(void);
MPI_Datatype cmpi_int64(void);
MPI_Datatype cmpi_uint64(void);
MPI_Datatype cmpi_float(void);
MPI_Datatype cmpi_double(void);

MPI_Op cmpi_op_sum(void);
MPI_Op cmpi_op_max(void);
MPI_Op cmpi_op_min(void);
MPI_Op cmpi_op_band(void);
MPI_Op cmpi_op_bor(void);
MPI_Op cmpi_op_bxor(void);

int cmpi_any_source(void);
int cmpi_any_tag(void);

#endif
